// Test-only ObjectStore decorator with scripted storage tiers: archive packs, rehydrate after a delay on a ManualClock.
import { ManualClock } from '../../core/clock.ts';
import {
  ObjectArchivedError,
  ObjectNotFoundError,
  type GetOptions, type IoOptions, type ObjectInfo, type ObjectStore, type ObjectTiering, type PutOptions,
  type RehydrateOptions, type StoreCapabilities, type TierState,
} from '../../core/store/object-store.ts';

interface Entry {
  tier: string;
  /** Clock time the rehydration completes; undefined when none was requested. */
  readyAt?: number;
}

export class TieringMemoryStore implements ObjectStore, ObjectTiering {
  readonly inner: ObjectStore;
  /** Replaceable, so a test can share its repository's clock. */
  clock: ManualClock;
  /** How long a rehydration takes on the clock. */
  rehydrateMs: number;
  readonly requests: Array<{ key: string } & Omit<RehydrateOptions, 'signal'>> = [];
  readonly #tiers = new Map<string, Entry>();
  /** The kind each object was put with, so a test can archive only one kind (a lifecycle rule by class). */
  readonly kinds = new Map<string, string>();
  readonly minimumDays: Record<string, number> = { GLACIER: 90, DEEP_ARCHIVE: 180 };

  constructor(inner: ObjectStore, clock = new ManualClock(), rehydrateMs = 4 * 60 * 60 * 1000) {
    this.inner = inner;
    this.clock = clock;
    this.rehydrateMs = rehydrateMs;
  }
  get description(): string {
    return `tiered ${this.inner.description}`;
  }
  get capabilities(): StoreCapabilities {
    return { ...this.inner.capabilities, storageTiers: true };
  }

  /** Moves every existing object of one kind to `tier`, as a per-storage-class rule would. */
  async archiveKind(kind: string, tier = 'GLACIER'): Promise<number> {
    let n = 0;
    for (const [key, k] of this.kinds) {
      if (k !== kind) continue;
      this.#tiers.set(key, { tier });
      n++;
    }
    return n;
  }

  /** Moves every existing object under `prefix` to `tier` (default GLACIER), as a lifecycle rule would. */
  async archive(prefix: string, tier = 'GLACIER'): Promise<number> {
    let n = 0;
    for await (const info of this.inner.list(prefix)) {
      this.#tiers.set(info.key, { tier });
      n++;
    }
    return n;
  }

  #archived(key: string): { archived: boolean; rehydrating: boolean; tier: string } {
    const e = this.#tiers.get(key);
    if (!e) return { archived: false, rehydrating: false, tier: 'STANDARD' };
    const restored = e.readyAt !== undefined && this.clock.now() >= e.readyAt;
    return { archived: !restored, rehydrating: e.readyAt !== undefined && !restored, tier: e.tier };
  }

  async tierOf(key: string, options?: IoOptions): Promise<TierState> {
    await this.inner.stat(key, options);
    const s = this.#archived(key);
    return { ...s, minimumDurationDays: this.minimumDays[s.tier] ?? 0 };
  }

  async requestRehydrate(key: string, options: RehydrateOptions): Promise<void> {
    await this.inner.stat(key, options);
    this.requests.push({ key, days: options.days, priority: options.priority });
    const e = this.#tiers.get(key);
    if (e && e.readyAt === undefined) e.readyAt = this.clock.now() + this.rehydrateMs;
  }

  async get(key: string, options?: GetOptions): Promise<Buffer> {
    if (this.#archived(key).archived) {
      await this.inner.stat(key, options).catch((err: unknown) => {
        if (err instanceof ObjectNotFoundError) this.#tiers.delete(key);
        throw err;
      });
      throw new ObjectArchivedError(key, this.description);
    }
    return this.inner.get(key, options);
  }
  stat(key: string, options?: IoOptions): Promise<ObjectInfo> {
    return this.inner.stat(key, options);
  }
  list(prefix: string, options?: IoOptions): AsyncIterable<ObjectInfo> {
    return this.inner.list(prefix, options);
  }
  put(key: string, data: Uint8Array, options?: PutOptions): Promise<void> {
    if (options?.kind) this.kinds.set(key, options.kind);
    this.#tiers.delete(key);
    return this.inner.put(key, data, options);
  }
  async delete(key: string, options?: IoOptions): Promise<void> {
    this.#tiers.delete(key);
    await this.inner.delete(key, options);
  }
}
