// An ObjectStore decorator that retries transient failures with capped exponential backoff and full jitter.
import { setTimeout as delay } from 'node:timers/promises';
import { AbortedError, CloudkeepError, throwIfAborted } from '../errors.ts';
import {
  isBatchDeleter,
  isObjectLocker,
  isObjectTiering,
  ObjectNotFoundError,
  UnsupportedOperationError,
  type ObjectLocker,
  type ObjectUpload,
  type ObjectRetention,
  type ObjectTiering,
  type RehydrateOptions,
  type TierState,
  type GetOptions,
  type IoOptions,
  type ObjectInfo,
  type ObjectStore,
  type PutOptions,
  type StoreCapabilities,
} from './object-store.ts';

export interface RetryOptions {
  /** Total tries per call, the first included. Default 5. */
  maxAttempts?: number;
  /** Backoff cap before the first retry, doubled for each later one. Default 100 ms. */
  baseDelayMs?: number;
  /** Upper bound on any one backoff cap. Default 5000 ms. */
  maxDelayMs?: number;
  /** Waits ms, rejecting with AbortedError when signal fires. Injectable so tests need not wait. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Source of jitter in [0, 1). Default Math.random. */
  random?: () => number;
  /** Called before each backoff; for logging and metrics. */
  onRetry?: (event: RetryEvent) => void;
}

export interface RetryEvent {
  op: string;
  key: string;
  /** The attempt that just failed, from 1. */
  attempt: number;
  delayMs: number;
  error: unknown;
}

/** True for errors a retry may cure: typed, marked retryable, and not a missing object or a cancellation. */
export function isRetryable(err: unknown): boolean {
  return err instanceof CloudkeepError && err.retryable && !(err instanceof ObjectNotFoundError) && !(err instanceof AbortedError);
}

/** Full jitter (AWS architecture blog): uniform in [0, min(max, base * 2^retry)), which spreads retry storms. */
export function backoffDelay(retry: number, baseDelayMs: number, maxDelayMs: number, random: () => number): number {
  const cap = Math.min(maxDelayMs, baseDelayMs * 2 ** retry);
  return Math.floor(random() * cap);
}

export async function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  throwIfAborted(signal);
  try {
    await delay(ms, undefined, { signal });
  } catch (err) {
    if (signal?.aborted) throw new AbortedError('operation aborted', { cause: signal.reason });
    throw err;
  }
}

export class RetryingObjectStore implements ObjectStore, ObjectLocker, ObjectTiering {
  readonly inner: ObjectStore;
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  private readonly random: () => number;
  private readonly onRetry: ((event: RetryEvent) => void) | undefined;

  constructor(inner: ObjectStore, options: RetryOptions = {}) {
    this.inner = inner;
    this.maxAttempts = options.maxAttempts ?? 5;
    this.baseDelayMs = options.baseDelayMs ?? 100;
    this.maxDelayMs = options.maxDelayMs ?? 5000;
    this.sleep = options.sleep ?? abortableSleep;
    this.random = options.random ?? Math.random;
    this.onRetry = options.onRetry;
    if (!Number.isSafeInteger(this.maxAttempts) || this.maxAttempts < 1) {
      throw new RangeError(`maxAttempts must be an integer >= 1, got ${this.maxAttempts}`);
    }
  }

  get description(): string {
    return this.inner.description;
  }
  get capabilities(): StoreCapabilities {
    const caps = this.inner.capabilities;
    // storageTiers only with the ObjectTiering role behind it, so isObjectTiering(this) tells the truth.
    return caps.storageTiers && !isObjectTiering(this.inner) ? { ...caps, storageTiers: false } : caps;
  }

  /** Passed through without retries: a failed piece fails the upload, which its writer aborts. */
  async beginUpload(key: string, options?: PutOptions): Promise<ObjectUpload | null> {
    return (await this.inner.beginUpload?.(key, options)) ?? null;
  }

  put(key: string, data: Uint8Array, options?: PutOptions): Promise<void> {
    // Safe to repeat: puts are atomic, so a retry after an unclear failure just rewrites the same bytes.
    return this.retry('put', key, options?.signal, () => this.inner.put(key, data, options));
  }

  get(key: string, options?: GetOptions): Promise<Buffer> {
    return this.retry('get', key, options?.signal, () => this.inner.get(key, options));
  }

  stat(key: string, options?: IoOptions): Promise<ObjectInfo> {
    return this.retry('stat', key, options?.signal, () => this.inner.stat(key, options));
  }

  async flush(options?: IoOptions): Promise<void> {
    const inner = this.inner;
    if (inner.flush) await this.retry('flush', '', options?.signal, () => inner.flush!(options));
  }

  /** Batch deletes when the inner store has them; one by one otherwise (each retried). */
  async deleteMany(keys: readonly string[], options?: IoOptions): Promise<void> {
    const inner = this.inner;
    if (isBatchDeleter(inner)) return this.retry('deleteMany', keys[0] ?? '', options?.signal, () => inner.deleteMany(keys, options));
    for (const key of keys) await this.delete(key, options);
  }

  delete(key: string, options?: IoOptions): Promise<void> {
    // Safe to repeat: deleting a missing key succeeds.
    return this.retry('delete', key, options?.signal, () => this.inner.delete(key, options));
  }

  get lockDays(): number | undefined {
    return isObjectLocker(this.inner) ? this.inner.lockDays : undefined;
  }

  /** Passes the ObjectLocker role through; UnsupportedOperationError when the inner store has none. */
  retention(key: string, options?: IoOptions): Promise<ObjectRetention> {
    const inner = this.locker('retention');
    return this.retry('retention', key, options?.signal, () => inner.retention(key, options));
  }

  extendRetention(key: string, until: number, options?: IoOptions): Promise<void> {
    // Safe to repeat: setting the same date again changes nothing.
    const inner = this.locker('extendRetention');
    return this.retry('extendRetention', key, options?.signal, () => inner.extendRetention(key, until, options));
  }

  /** Passes the ObjectTiering role through; UnsupportedOperationError when the inner store has none. */
  tierOf(key: string, options?: IoOptions): Promise<TierState> {
    const inner = this.tiering('tierOf');
    return this.retry('tierOf', key, options?.signal, () => inner.tierOf(key, options));
  }

  requestRehydrate(key: string, options: RehydrateOptions): Promise<void> {
    // Safe to repeat: a request for an object already rehydrating succeeds.
    const inner = this.tiering('requestRehydrate');
    return this.retry('requestRehydrate', key, options.signal, () => inner.requestRehydrate(key, options));
  }

  private tiering(op: string): ObjectTiering {
    if (!isObjectTiering(this.inner)) throw new UnsupportedOperationError(`${op}: ${this.inner.description} has no storage tiers`);
    return this.inner;
  }

  private locker(op: string): ObjectLocker {
    if (!isObjectLocker(this.inner)) throw new UnsupportedOperationError(`${op}: ${this.inner.description} cannot read or extend object locks`);
    return this.inner;
  }

  /**
   * A failed listing restarts from the beginning and skips keys already yielded, so each key still
   * appears once. The attempt budget counts consecutive failures without a newly yielded key.
   */
  async *list(prefix: string, options?: IoOptions): AsyncIterable<ObjectInfo> {
    const signal = options?.signal;
    const seen = new Set<string>();
    let failures = 0;
    for (;;) {
      throwIfAborted(signal);
      try {
        for await (const info of this.inner.list(prefix, options)) {
          if (seen.has(info.key)) continue;
          seen.add(info.key);
          failures = 0;
          yield info;
        }
        return;
      } catch (err) {
        failures++;
        await this.backoffOrThrow('list', prefix, failures, err, signal);
      }
    }
  }

  private async retry<T>(op: string, key: string, signal: AbortSignal | undefined, call: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      throwIfAborted(signal);
      try {
        return await call();
      } catch (err) {
        await this.backoffOrThrow(op, key, attempt, err, signal);
      }
    }
  }

  /** Rethrows err unless another attempt is allowed, in which case waits the backoff first. */
  private async backoffOrThrow(op: string, key: string, attempt: number, err: unknown, signal: AbortSignal | undefined): Promise<void> {
    if (!isRetryable(err) || attempt >= this.maxAttempts) throw err;
    const delayMs = backoffDelay(attempt - 1, this.baseDelayMs, this.maxDelayMs, this.random);
    this.onRetry?.({ op, key, attempt, delayMs, error: err });
    await this.sleep(delayMs, signal);
    throwIfAborted(signal);
  }
}
