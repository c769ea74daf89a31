// A test ObjectStore with S3-like Object Lock over MemoryObjectStore: refuses delete/overwrite before retain-until.
import type { Clock } from '../../core/clock.ts';
import {
  StoreError,
  type GetOptions,
  type IoOptions,
  type ObjectInfo,
  type ObjectKind,
  type ObjectLocker,
  type ObjectRetention,
  type ObjectStore,
  type PutOptions,
  type StoreCapabilities,
} from '../../core/store/object-store.ts';
import { MemoryObjectStore } from '../../providers/memory/memory-object-store.ts';

const DAY_MS = 86_400_000;

export interface LockingOptions {
  clock: Clock;
  /** Every put of a locked kind gets retain-until = now + days. */
  days: number;
  /** Kinds that are locked on put; default all but 'marker' (markers and leases), as the S3 and Azure adapters do. */
  lockedKinds?: ObjectKind[];
}

export class LockingObjectStore implements ObjectStore, ObjectLocker {
  readonly description = 'locking-memory://';
  readonly capabilities: StoreCapabilities = { conditionalWrites: false, objectLock: true, storageTiers: false };
  readonly inner: MemoryObjectStore;
  readonly #clock: Clock;
  readonly #days: number;
  readonly #kinds: Set<ObjectKind>;
  readonly #until = new Map<string, number>();
  /** Every refused delete or overwrite, for assertions. */
  readonly refused: string[] = [];
  /** Every extendRetention call as [key, until]. */
  readonly extensions: Array<[string, number]> = [];

  constructor(options: LockingOptions) {
    this.#clock = options.clock;
    this.#days = options.days;
    this.#kinds = new Set(options.lockedKinds ?? ['config', 'key', 'pack', 'tree-pack', 'index', 'manifest']);
    this.inner = new MemoryObjectStore({ clock: options.clock });
  }

  async put(key: string, data: Uint8Array, options: PutOptions = {}): Promise<void> {
    this.#refuseIfLocked(key, 'overwrite');
    await this.inner.put(key, data, options);
    const kind = options.kind ?? kindOf(key);
    if (kind !== undefined && this.#kinds.has(kind)) this.#until.set(key, this.#clock.now() + this.#days * DAY_MS);
    else this.#until.delete(key);
  }
  get(key: string, options?: GetOptions): Promise<Buffer> {
    return this.inner.get(key, options);
  }
  stat(key: string, options?: IoOptions): Promise<ObjectInfo> {
    return this.inner.stat(key, options);
  }
  list(prefix: string, options?: IoOptions): AsyncIterable<ObjectInfo> {
    return this.inner.list(prefix, options);
  }
  async delete(key: string, options?: IoOptions): Promise<void> {
    this.#refuseIfLocked(key, 'delete');
    await this.inner.delete(key, options);
    this.#until.delete(key);
  }

  async retention(key: string, options?: IoOptions): Promise<ObjectRetention> {
    await this.inner.stat(key, options);
    return { retainUntil: this.#until.get(key) ?? null };
  }

  async extendRetention(key: string, until: number, options?: IoOptions): Promise<void> {
    await this.inner.stat(key, options);
    const current = this.#until.get(key);
    if (current !== undefined && until < current) throw new StoreError(`AccessDenied: cannot shorten the retention of ${key}`, key, { retryable: false });
    this.#until.set(key, until);
    this.extensions.push([key, until]);
  }

  /** The retain-until date of a key without the ObjectNotFound check, for assertions. */
  retainUntil(key: string): number | undefined {
    return this.#until.get(key);
  }

  #refuseIfLocked(key: string, what: string): void {
    const until = this.#until.get(key);
    if (until === undefined || until <= this.#clock.now()) return;
    this.refused.push(`${what} ${key}`);
    throw new StoreError(`AccessDenied: ${what} of ${key} refused, locked until ${new Date(until).toISOString()}`, key, { retryable: false });
  }
}

function kindOf(key: string): ObjectKind | undefined {
  const first = key.split('/')[0];
  const kinds: Record<string, ObjectKind> = { config: 'config', keys: 'key', packs: 'pack', index: 'index', points: 'manifest', markers: 'marker', sessions: 'marker' };
  return kinds[first];
}
