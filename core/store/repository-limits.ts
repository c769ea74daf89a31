// Repository limits: at most N concurrent tasks per repository, and read/write rates split equally among them.
import { systemClock, type Clock } from '../clock.ts';
import type { BusyTimer } from '../engine/stage-timer.ts';
import { AbortedError, InvalidArgumentError, throwIfAborted } from '../errors.ts';
import type { GetOptions, IoOptions, ObjectInfo, ObjectStore, PutOptions, StoreCapabilities } from './object-store.ts';
import { abortableSleep } from './retrying-object-store.ts';

/** Bytes per MB in the limits (MB/s as formatRate prints it). */
export const MB = 1e6;

export interface RepositoryLimits {
  /** Tasks (one backup of a resource, one restore of a disk) running at once; more wait, first come first served. */
  maxConcurrentTasks?: number;
  /** Total read rate from the repository in MB/s, split equally among the running tasks. */
  readMBps?: number;
  /** Total write rate to the repository in MB/s, split equally among the running tasks. */
  writeMBps?: number;
}

export interface LimiterOptions {
  clock?: Clock;
  /** Waits ms, rejecting with AbortedError when signal fires. Injectable so tests need not wait. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Bytes a task may move at once after being idle, in ms of its rate. Default 1000. */
  burstMs?: number;
}

export type Direction = 'read' | 'write';

/** Stage timers a throttled store reports to: waits count as `throttling`, not as the I/O stage they hold up. */
export interface ThrottleTimers {
  throttling?: BusyTimer;
  read?: BusyTimer;
  write?: BusyTimer;
}

/** Token bucket in bytes; a request larger than the tokens runs into debt, which later requests wait out. */
class TokenBucket {
  rate = 0;
  #tokens = 0;
  #last: number;
  readonly #burstMs: number;
  constructor(now: number, burstMs: number) {
    this.#last = now;
    this.#burstMs = burstMs;
  }
  get capacity(): number {
    return (this.rate * this.#burstMs) / 1000;
  }
  #refill(now: number): void {
    this.#tokens = Math.min(this.capacity, this.#tokens + ((now - this.#last) * this.rate) / 1000);
    this.#last = now;
  }
  /** Changes the rate from now on; a fresh bucket (rate 0) starts full. */
  setRate(rate: number, now: number): void {
    const fresh = this.rate === 0;
    this.#refill(now);
    this.rate = rate;
    this.#tokens = fresh ? this.capacity : Math.min(this.#tokens, this.capacity);
  }
  /** Takes bytes; returns how many ms to wait before moving them. */
  reserve(bytes: number, now: number): number {
    this.#refill(now);
    this.#tokens -= bytes;
    return this.#tokens >= 0 ? 0 : (-this.#tokens * 1000) / this.rate;
  }
}

interface Waiter {
  resolve: (task: RepositoryTask) => void;
  reject: (err: unknown) => void;
  signal: AbortSignal | undefined;
  onAbort: () => void;
}

/** Shared by every task using one repository in this process. */
export class RepositoryLimiter {
  readonly limits: Readonly<RepositoryLimits>;
  readonly clock: Clock;
  readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly burstMs: number;
  readonly #running = new Set<RepositoryTask>();
  readonly #queue: Waiter[] = [];

  constructor(limits: RepositoryLimits = {}, options: LimiterOptions = {}) {
    const { maxConcurrentTasks: max, readMBps, writeMBps } = limits;
    if (max !== undefined && (!Number.isSafeInteger(max) || max < 1)) throw new InvalidArgumentError(`maxConcurrentTasks ${max}: expected a whole number >= 1`);
    for (const [name, v] of [['readMBps', readMBps], ['writeMBps', writeMBps]] as const) {
      if (v !== undefined && !(Number.isFinite(v) && v > 0)) throw new InvalidArgumentError(`${name} ${v}: expected a positive number of MB/s`);
    }
    this.limits = { ...limits };
    this.clock = options.clock ?? systemClock;
    this.sleep = options.sleep ?? abortableSleep;
    this.burstMs = options.burstMs ?? 1000;
  }

  get running(): number {
    return this.#running.size;
  }
  get waiting(): number {
    return this.#queue.length;
  }

  /** Starts a task once a slot is free (FIFO); rejects with AbortedError when signal fires while waiting. */
  async begin(signal?: AbortSignal): Promise<RepositoryTask> {
    throwIfAborted(signal);
    const max = this.limits.maxConcurrentTasks ?? Infinity;
    if (this.#running.size < max && this.#queue.length === 0) return this.#start();
    return new Promise<RepositoryTask>((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        signal,
        onAbort: () => {
          const i = this.#queue.indexOf(waiter);
          if (i >= 0) this.#queue.splice(i, 1);
          reject(new AbortedError('operation aborted while waiting for a repository task slot', { cause: signal?.reason }));
        },
      };
      signal?.addEventListener('abort', waiter.onAbort, { once: true });
      this.#queue.push(waiter);
    });
  }

  #start(): RepositoryTask {
    const task = new RepositoryTask(this, () => this.#end(task));
    this.#running.add(task);
    this.#rebalance();
    return task;
  }

  #end(task: RepositoryTask): void {
    if (!this.#running.delete(task)) return;
    const max = this.limits.maxConcurrentTasks ?? Infinity;
    while (this.#running.size < max && this.#queue.length > 0) {
      const next = this.#queue.shift()!;
      next.signal?.removeEventListener('abort', next.onAbort);
      next.resolve(this.#start());
    }
    this.#rebalance();
  }

  /** Each running task gets rate / running tasks. */
  #rebalance(): void {
    const n = this.#running.size;
    const now = this.clock.now();
    for (const task of this.#running) {
      task.setShare('read', this.limits.readMBps === undefined ? undefined : (this.limits.readMBps * MB) / n, now);
      task.setShare('write', this.limits.writeMBps === undefined ? undefined : (this.limits.writeMBps * MB) / n, now);
    }
  }
}

/** One backup or restore holding a slot of a RepositoryLimiter. */
export class RepositoryTask {
  readonly #limiter: RepositoryLimiter;
  readonly #onEnd: () => void;
  readonly #buckets = new Map<Direction, TokenBucket>();
  #throttledMs = 0;
  #waiting = 0;
  #waitSince = 0;
  #ended = false;

  constructor(limiter: RepositoryLimiter, onEnd: () => void) {
    this.#limiter = limiter;
    this.#onEnd = onEnd;
  }

  /** @internal Set by the limiter as tasks start and end; undefined means unlimited. */
  setShare(dir: Direction, bytesPerSec: number | undefined, now: number): void {
    if (bytesPerSec === undefined) {
      this.#buckets.delete(dir);
      return;
    }
    let bucket = this.#buckets.get(dir);
    if (!bucket) this.#buckets.set(dir, (bucket = new TokenBucket(now, this.#limiter.burstMs)));
    bucket.setRate(bytesPerSec, now);
  }

  /** This task's current share in bytes per second, or undefined when unlimited. */
  rate(dir: Direction): number | undefined {
    return this.#buckets.get(dir)?.rate;
  }

  /** Wall time during which at least one of this task's calls was held back by a rate limit. */
  get throttledMs(): number {
    return this.#throttledMs + (this.#waiting > 0 ? this.#limiter.clock.now() - this.#waitSince : 0);
  }

  get ended(): boolean {
    return this.#ended;
  }

  /** An ObjectStore whose gets and puts count against this task's read and write shares. */
  store(inner: ObjectStore, timers: ThrottleTimers = {}): ThrottledObjectStore {
    return new ThrottledObjectStore(inner, this, timers);
  }

  /** Takes bytes from the task's share, waiting when the share is used up. */
  async throttle(dir: Direction, bytes: number, signal?: AbortSignal, timers: ThrottleTimers = {}): Promise<void> {
    const bucket = this.#buckets.get(dir);
    if (!bucket || this.#ended || bytes <= 0) return;
    const clock = this.#limiter.clock;
    const ms = bucket.reserve(bytes, clock.now());
    if (ms <= 0) return;
    const wait = async () => {
      if (this.#waiting++ === 0) this.#waitSince = clock.now();
      try {
        await this.#limiter.sleep(ms, signal);
      } finally {
        if (--this.#waiting === 0) this.#throttledMs += clock.now() - this.#waitSince;
      }
    };
    const io = dir === 'read' ? timers.read : timers.write;
    const paused = io ? () => io.idle(wait) : wait;
    await (timers.throttling ? timers.throttling.time(paused) : paused());
  }

  /** Frees the slot for the next task; idempotent. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#onEnd();
  }
}

/** Delays gets and puts so a task's bytes stay under its share; other calls pass through. */
export class ThrottledObjectStore implements ObjectStore {
  readonly inner: ObjectStore;
  readonly task: RepositoryTask;
  readonly #timers: ThrottleTimers;
  constructor(inner: ObjectStore, task: RepositoryTask, timers: ThrottleTimers = {}) {
    this.inner = inner;
    this.task = task;
    this.#timers = timers;
  }
  get description(): string {
    return this.inner.description;
  }
  get capabilities(): StoreCapabilities {
    return this.inner.capabilities;
  }
  async get(key: string, options?: GetOptions): Promise<Buffer> {
    // A ranged read's size is known: wait before fetching. Otherwise charge the bytes once they arrived.
    if (options?.range) await this.task.throttle('read', options.range.length, options.signal, this.#timers);
    const data = await this.inner.get(key, options);
    if (!options?.range) await this.task.throttle('read', data.length, options?.signal, this.#timers);
    return data;
  }
  async put(key: string, data: Uint8Array, options?: PutOptions): Promise<void> {
    await this.task.throttle('write', data.length, options?.signal, this.#timers);
    await this.inner.put(key, data, options);
  }
  stat(key: string, options?: IoOptions): Promise<ObjectInfo> {
    return this.inner.stat(key, options);
  }
  list(prefix: string, options?: IoOptions): AsyncIterable<ObjectInfo> {
    return this.inner.list(prefix, options);
  }
  delete(key: string, options?: IoOptions): Promise<void> {
    return this.inner.delete(key, options);
  }
}
