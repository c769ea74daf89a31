// A scale-out repository: one object store over several extents, packs placed by policy.
//
// Metadata (config, keys, index, restore points, markers, leases) lives on the first extent; packs
// are spread over the extents that are not in maintenance. A pack is found by listing the extents
// (the core's keys never change), so packs can move between extents (evacuation) without any index
// rewrite. Placement follows the seeds' policies: data locality keeps a chain on one extent,
// performance puts full and incremental restore points on different extents; within a policy the
// choice falls to extents with room and then to the least busy one.
import { createHash } from 'node:crypto';
import { InvalidArgumentError, throwIfAborted } from '../errors.ts';
import {
  ObjectNotFoundError,
  StoreError,
  type GetOptions,
  type IoOptions,
  type ObjectInfo,
  type ObjectStore,
  type PlacementHint,
  type PutOptions,
  type StoreCapabilities,
} from './object-store.ts';
import { PACKS_PREFIX } from '../repo/layout.ts';

export type PlacementPolicy = 'data-locality' | 'performance';

export interface Extent {
  id: string;
  store: ObjectStore;
  /** No new data goes to an extent in maintenance; its data stays readable until evacuated. */
  maintenance?: boolean;
  /** Bytes this extent may hold; undefined: no limit known. */
  capacityBytes?: number;
  /** Writes this extent takes at once (the seeds' concurrent task limit); undefined: no limit. */
  maxTasks?: number;
}

export interface ScaleOutOptions {
  extents: Extent[];
  policy: PlacementPolicy;
}

function hashOf(text: string): number {
  return createHash('sha256').update(text).digest().readUInt32BE(0);
}

export class ScaleOutObjectStore implements ObjectStore {
  readonly description: string;
  readonly capabilities: StoreCapabilities;
  readonly policy: PlacementPolicy;
  readonly #extents: Extent[];
  /** pack key -> extent index and size, learned from listings and writes. */
  readonly #where = new Map<string, { extent: number; size: number }>();
  readonly #used: number[];
  readonly #busy: number[];
  #listed = false;
  /** Puts waiting because every extent the policy allows is at its task limit. */
  readonly #waiters: Array<() => void> = [];

  constructor(options: ScaleOutOptions) {
    if (options.extents.length === 0) throw new InvalidArgumentError('a scale-out repository needs at least one extent');
    const ids = new Set(options.extents.map((e) => e.id));
    if (ids.size !== options.extents.length) throw new InvalidArgumentError(`extent ids must be unique: ${options.extents.map((e) => e.id).join(', ')}`);
    this.#extents = options.extents;
    this.policy = options.policy;
    this.#used = options.extents.map(() => 0);
    this.#busy = options.extents.map(() => 0);
    this.description = `scale-out(${options.policy}: ${options.extents.map((e) => `${e.id}=${e.store.description}`).join(', ')})`;
    const all = (k: keyof StoreCapabilities) => options.extents.every((e) => e.store.capabilities[k]);
    this.capabilities = { conditionalWrites: all('conditionalWrites'), objectLock: all('objectLock'), storageTiers: all('storageTiers') };
  }

  get extents(): readonly Extent[] {
    return this.#extents;
  }

  #isPack(key: string): boolean {
    return key.startsWith(PACKS_PREFIX);
  }

  /** Learns where every pack is and how full each extent is (one listing per extent). */
  async #learn(options: IoOptions = {}): Promise<void> {
    if (this.#listed) return;
    for (let i = 0; i < this.#extents.length; i++) {
      this.#used[i] = 0;
      for await (const info of this.#extents[i].store.list(PACKS_PREFIX, options)) {
        if (!this.#where.has(info.key)) this.#where.set(info.key, { extent: i, size: info.size });
        this.#used[i] += info.size;
      }
    }
    this.#listed = true;
  }

  /** Extents in the order the policy prefers them for a new pack of this chain. */
  placementOrder(hint: PlacementHint | undefined, key: string, size: number): number[] {
    const open = this.#extents.map((e, i) => i).filter((i) => !this.#extents[i].maintenance);
    const room = open.filter((i) => this.#extents[i].capacityBytes === undefined || this.#used[i] + size <= this.#extents[i].capacityBytes!);
    const pool = room.length > 0 ? room : open;
    if (pool.length === 0) throw new StoreError('every extent of the scale-out repository is in maintenance: no extent can take new data', key);
    const start = hashOf(hint?.group ?? key) + (this.policy === 'performance' && hint?.role === 'incremental' ? 1 : 0);
    const preferred = pool[start % pool.length];
    const rest = pool.filter((i) => i !== preferred).sort((a, b) => this.#busy[a] - this.#busy[b] || this.#used[a] - this.#used[b]);
    return [preferred, ...rest];
  }

  /** Makes every earlier put durable on every extent. */
  async flush(options: IoOptions = {}): Promise<void> {
    for (const e of this.#extents) await e.store.flush?.(options);
  }

  #atLimit(i: number): boolean {
    const max = this.#extents[i].maxTasks;
    return max !== undefined && this.#busy[i] >= max;
  }

  /** The policy's order without extents at their task limit; waits while every one is. */
  async #freeOrder(hint: PlacementHint | undefined, key: string, size: number, signal?: AbortSignal): Promise<number[]> {
    for (;;) {
      const order = this.placementOrder(hint, key, size);
      const free = order.filter((i) => !this.#atLimit(i));
      if (free.length > 0) return free;
      throwIfAborted(signal);
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }

  async put(key: string, data: Uint8Array, options: PutOptions = {}): Promise<void> {
    if (!this.#isPack(key)) {
      // Metadata may name packs on any extent: those must be durable first.
      await this.flush(options);
      return this.#extents[0].store.put(key, data, options);
    }
    await this.#learn(options);
    for (;;) {
      let lastError: unknown = undefined;
      let attempted = false;
      for (const i of await this.#freeOrder(options.placement, key, data.length, options.signal)) {
        // Another put may have taken the slot while this one waited: then look again.
        if (this.#atLimit(i)) continue;
        attempted = true;
        this.#busy[i]++;
        try {
          await this.#extents[i].store.put(key, data, options);
          this.#where.set(key, { extent: i, size: data.length });
          this.#used[i] += data.length;
          return;
        } catch (err) {
          // An unavailable extent: the pack goes to the next one the policy allows.
          if (!(err instanceof StoreError) || !err.retryable) throw err;
          lastError = err;
        } finally {
          this.#busy[i]--;
          this.#waiters.shift()?.();
        }
      }
      if (attempted) throw lastError;
    }
  }

  async #locate(key: string, options: IoOptions): Promise<Extent> {
    if (!this.#isPack(key)) return this.#extents[0];
    await this.#learn(options);
    const known = this.#where.get(key);
    if (known !== undefined) return this.#extents[known.extent];
    for (let i = 0; i < this.#extents.length; i++) {
      try {
        const info = await this.#extents[i].store.stat(key, options);
        this.#where.set(key, { extent: i, size: info.size });
        return this.#extents[i];
      } catch (err) {
        if (!(err instanceof ObjectNotFoundError)) throw err;
      }
    }
    throw new ObjectNotFoundError(key);
  }

  async get(key: string, options: GetOptions = {}): Promise<Buffer> {
    return (await this.#locate(key, options)).store.get(key, options);
  }

  async stat(key: string, options: IoOptions = {}): Promise<ObjectInfo> {
    return (await this.#locate(key, options)).store.stat(key, options);
  }

  async *list(prefix: string, options: IoOptions = {}): AsyncIterable<ObjectInfo> {
    const packsToo = PACKS_PREFIX.startsWith(prefix) || prefix.startsWith(PACKS_PREFIX);
    const seen = new Set<string>();
    for (let i = 0; i < (packsToo ? this.#extents.length : 1); i++) {
      for await (const info of this.#extents[i].store.list(prefix, options)) {
        if (i > 0 && !this.#isPack(info.key)) continue;
        if (seen.has(info.key)) continue;
        seen.add(info.key);
        yield info;
      }
    }
  }

  async delete(key: string, options: IoOptions = {}): Promise<void> {
    if (!this.#isPack(key)) return this.#extents[0].store.delete(key, options);
    // A pack can sit on two extents after an interrupted evacuation: delete every copy.
    for (const e of this.#extents) await e.store.delete(key, options);
    const known = this.#where.get(key);
    this.#where.delete(key);
    if (known !== undefined) this.#used[known.extent] = Math.max(0, this.#used[known.extent] - known.size);
  }

  /** Forgets learned placements, e.g. after another process moved packs. */
  refresh(): void {
    this.#listed = false;
    this.#where.clear();
  }
}
