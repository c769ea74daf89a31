// A fault-injecting ObjectStore decorator for crash and failure tests (after kopia's blobtesting/faulty.go).
//
// Crash-test recipe (fail at every write in turn):
//   const probe = new FaultyObjectStore(new MemoryObjectStore());
//   await operation(probe);                      // run once to count writes
//   for (let i = 0; i < probe.puts; i++) {
//     const store = new FaultyObjectStore(new MemoryObjectStore());
//     store.failAfterPuts(i, 'crash');
//     await assert.rejects(operation(store), SimulatedCrashError);
//     store.reset();                             // "restart the process" on what survived
//     await recoverAndCheck(store);
//   }
import {
  StoreError,
  type GetOptions,
  type IoOptions,
  type ObjectInfo,
  type ObjectStore,
  type PutOptions,
  type StoreCapabilities,
} from './object-store.ts';

/** 'throw': one put fails and writes nothing. 'crash': it and every later call fail. 'torn': as crash, after writing half the bytes. */
export type PutFaultMode = 'throw' | 'crash' | 'torn';
/** 'throw': one delete fails and deletes nothing. 'crash': it and every later call fail. */
export type DeleteFaultMode = 'throw' | 'crash';

export interface FaultOptions {
  /** retryable flag of the error a 'throw' fault raises; default false. Crashes are never retryable. */
  retryable?: boolean;
}

/** Raised by a 'throw' fault: one call failed, the store is otherwise healthy. */
export class InjectedFaultError extends StoreError {
  constructor(op: string, key: string, retryable: boolean) {
    super(`injected fault: ${op} ${key}`, key, { retryable });
    this.name = 'InjectedFaultError';
  }
}

/** Raised by every call from the crash on: the simulated process is dead. */
export class SimulatedCrashError extends StoreError {
  constructor(op: string, key?: string) {
    super(`simulated crash: ${op}${key === undefined ? '' : ` ${key}`}`, key, { retryable: false });
    this.name = 'SimulatedCrashError';
  }
}

interface PendingFault<M> {
  /** Calls still allowed to succeed before the fault fires. */
  remaining: number;
  mode: M;
  retryable: boolean;
}

interface StaleListing {
  prefixes: string[] | undefined;
  /** Keys put through this store since staleList was called. */
  hidden: Set<string>;
}

export class FaultyObjectStore implements ObjectStore {
  readonly inner: ObjectStore;
  private putFault: PendingFault<PutFaultMode> | undefined;
  private deleteFault: PendingFault<DeleteFaultMode> | undefined;
  private stale: StaleListing | undefined;
  private dead = false;
  private counts = { puts: 0, deletes: 0, gets: 0, stats: 0, lists: 0 };

  constructor(inner: ObjectStore) {
    this.inner = inner;
  }

  get description(): string {
    return this.inner.description;
  }
  get capabilities(): StoreCapabilities {
    return this.inner.capabilities;
  }

  /** Calls received, including ones that failed by injection or crash. */
  get puts(): number {
    return this.counts.puts;
  }
  get deletes(): number {
    return this.counts.deletes;
  }
  get gets(): number {
    return this.counts.gets;
  }
  get stats(): number {
    return this.counts.stats;
  }
  get lists(): number {
    return this.counts.lists;
  }
  /** True once a crash fault fired (or crash() was called), until reset(). */
  get crashed(): boolean {
    return this.dead;
  }

  /** Lets n more puts (counted from this call) succeed; the next one fails as `mode` says. Replaces a pending put fault. */
  failAfterPuts(n: number, mode: PutFaultMode = 'throw', options: FaultOptions = {}): void {
    this.putFault = { remaining: checkCount(n), mode, retryable: options.retryable ?? false };
  }

  /** Lets n more deletes (counted from this call) succeed; the next one fails as `mode` says. Replaces a pending delete fault. */
  failAfterDeletes(n: number, mode: DeleteFaultMode = 'throw', options: FaultOptions = {}): void {
    this.deleteFault = { remaining: checkCount(n), mode, retryable: options.retryable ?? false };
  }

  /**
   * The next list whose prefix overlaps one of `prefixes` (any list when omitted) leaves out the
   * objects under those prefixes that were put through this store after this call. One-shot.
   */
  staleList(prefixes?: string[]): void {
    this.stale = { prefixes: prefixes === undefined ? undefined : [...prefixes], hidden: new Set() };
  }

  /** Kills the simulated process now: every later call throws SimulatedCrashError. */
  crash(): void {
    this.dead = true;
  }

  /** Clears pending faults, stale listings and the crashed state (a restart); counters are kept. */
  reset(): void {
    this.putFault = undefined;
    this.deleteFault = undefined;
    this.stale = undefined;
    this.dead = false;
  }

  resetCounters(): void {
    this.counts = { puts: 0, deletes: 0, gets: 0, stats: 0, lists: 0 };
  }

  async put(key: string, data: Uint8Array, options?: PutOptions): Promise<void> {
    this.counts.puts++;
    this.assertAlive('put', key);
    const fault = takeFault(this.putFault);
    if (fault !== undefined) {
      this.putFault = undefined;
      if (fault.mode === 'throw') throw new InjectedFaultError('put', key, fault.retryable);
      // A torn write reaches the store even though the process dies during it.
      if (fault.mode === 'torn') await this.inner.put(key, data.subarray(0, Math.floor(data.length / 2)), options);
      this.dead = true;
      throw new SimulatedCrashError('put', key);
    }
    await this.inner.put(key, data, options);
    this.stale?.hidden.add(key);
    this.assertAlive('put', key);
  }

  async get(key: string, options?: GetOptions): Promise<Buffer> {
    this.counts.gets++;
    this.assertAlive('get', key);
    const data = await this.inner.get(key, options);
    this.assertAlive('get', key);
    return data;
  }

  async stat(key: string, options?: IoOptions): Promise<ObjectInfo> {
    this.counts.stats++;
    this.assertAlive('stat', key);
    const info = await this.inner.stat(key, options);
    this.assertAlive('stat', key);
    return info;
  }

  async *list(prefix: string, options?: IoOptions): AsyncIterable<ObjectInfo> {
    this.counts.lists++;
    this.assertAlive('list', prefix);
    const hidden = this.takeStaleListing(prefix);
    for await (const info of this.inner.list(prefix, options)) {
      // A dead process observes nothing more, even from a listing already under way.
      this.assertAlive('list', prefix);
      if (hidden !== undefined && hidden(info.key)) continue;
      yield info;
    }
    this.assertAlive('list', prefix);
  }

  async flush(options?: IoOptions): Promise<void> {
    this.assertAlive('flush', '');
    await this.inner.flush?.(options);
  }

  async delete(key: string, options?: IoOptions): Promise<void> {
    this.counts.deletes++;
    this.assertAlive('delete', key);
    const fault = takeFault(this.deleteFault);
    if (fault !== undefined) {
      this.deleteFault = undefined;
      if (fault.mode === 'throw') throw new InjectedFaultError('delete', key, fault.retryable);
      this.dead = true;
      throw new SimulatedCrashError('delete', key);
    }
    await this.inner.delete(key, options);
    this.assertAlive('delete', key);
  }

  private assertAlive(op: string, key: string): void {
    if (this.dead) throw new SimulatedCrashError(op, key);
  }

  /** Returns a filter of hidden keys when a pending stale listing applies to this prefix, consuming it. */
  private takeStaleListing(prefix: string): ((key: string) => boolean) | undefined {
    const stale = this.stale;
    if (stale === undefined) return undefined;
    const { prefixes, hidden } = stale;
    if (prefixes !== undefined && !prefixes.some((p) => p.startsWith(prefix) || prefix.startsWith(p))) return undefined;
    this.stale = undefined;
    return (key) => hidden.has(key) && (prefixes === undefined || prefixes.some((p) => key.startsWith(p)));
  }
}

/** Counts one call against a pending fault; returns the fault when this call is the one that fails. */
function takeFault<M>(fault: PendingFault<M> | undefined): PendingFault<M> | undefined {
  if (fault === undefined) return undefined;
  if (fault.remaining > 0) {
    fault.remaining--;
    return undefined;
  }
  return fault;
}

function checkCount(n: number): number {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`fault count must be a non-negative integer, got ${n}`);
  return n;
}
