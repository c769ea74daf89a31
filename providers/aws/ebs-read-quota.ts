// Shared GetSnapshotBlock limiter: per-account and per-snapshot request buckets, back-off on throttling, time spent waiting.
import { systemClock, type Clock } from '../../core/clock.ts';
import { InvalidArgumentError, throwIfAborted } from '../../core/errors.ts';
import { abortableSleep, backoffDelay } from '../../core/store/retrying-object-store.ts';

export interface EbsReadQuotaOptions {
  /** GetSnapshotBlock requests per second for the whole account (EBS default quota: 1,000). */
  accountRps?: number;
  /** GetSnapshotBlock requests per second per snapshot (EBS default quota: 1,000). */
  snapshotRps?: number;
  /** Requests that may go out at once after idling, in ms of the rate. Default 100 (100 requests at 1,000/s). */
  burstMs?: number;
  /** Retries after throttling or another retryable error. Default 8. */
  maxRetries?: number;
  baseBackoffMs?: number;
  maxBackoffMs?: number;
  clock?: Clock;
  /** Waits ms; injectable so tests move a ManualClock instead of waiting. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  random?: () => number;
}

/** A token bucket in requests; a request beyond the tokens runs into debt, which later requests wait out. */
class RequestBucket {
  readonly rate: number;
  readonly capacity: number;
  #tokens: number;
  #last: number;
  constructor(rate: number, burstMs: number, now: number) {
    this.rate = rate;
    this.capacity = Math.max(1, (rate * burstMs) / 1000);
    this.#tokens = this.capacity;
    this.#last = now;
  }
  /** Takes one request; returns ms to wait before sending it. */
  reserve(now: number): number {
    this.#tokens = Math.min(this.capacity, this.#tokens + ((now - this.#last) * this.rate) / 1000);
    this.#last = now;
    this.#tokens -= 1;
    return this.#tokens >= 0 ? 0 : (-this.#tokens * 1000) / this.rate;
  }
  /** True when the bucket is full again: it can be dropped and made afresh later. */
  idle(now: number): boolean {
    return this.#tokens + ((now - this.#last) * this.rate) / 1000 >= this.capacity;
  }
}

/** Where one caller (a source, a sink) adds up its own waits, next to the quota's total. */
export interface WaitMeter {
  throttledMs: number;
}

function isThrottle(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { throttled?: unknown }).throttled === true;
}

function isRetryable(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { retryable?: unknown }).retryable === true;
}

/** One per process: every EbsSnapshotSource of every worker shares it, so the account quota holds in sum. */
export class EbsReadQuota {
  readonly accountRps: number;
  readonly snapshotRps: number;
  /** Ms callers spent waiting for quota or backing off (throttling, other retryable errors), summed over callers. */
  throttledMs = 0;
  /** Throttling answers seen. */
  throttles = 0;
  /** Requests let through (retries included). */
  requests = 0;
  readonly #burstMs: number;
  readonly #maxRetries: number;
  readonly #base: number;
  readonly #max: number;
  readonly #clock: Clock;
  readonly #sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly #random: () => number;
  readonly #account: RequestBucket;
  readonly #snapshots = new Map<string, RequestBucket>();

  constructor(options: EbsReadQuotaOptions = {}) {
    this.accountRps = options.accountRps ?? 1000;
    this.snapshotRps = options.snapshotRps ?? 1000;
    for (const [name, v] of [['accountRps', this.accountRps], ['snapshotRps', this.snapshotRps]] as const) {
      if (!(Number.isFinite(v) && v > 0)) throw new InvalidArgumentError(`${name} ${v}: expected a positive number of requests per second`);
    }
    this.#burstMs = options.burstMs ?? 100;
    this.#maxRetries = options.maxRetries ?? 8;
    this.#base = options.baseBackoffMs ?? 100;
    this.#max = options.maxBackoffMs ?? 20_000;
    this.#clock = options.clock ?? systemClock;
    this.#sleep = options.sleep ?? abortableSleep;
    this.#random = options.random ?? Math.random;
    this.#account = new RequestBucket(this.accountRps, this.#burstMs, this.#clock.now());
  }

  /** Waits until one more request for `snapshotId` fits both limits. */
  async acquire(snapshotId: string, signal?: AbortSignal, meter?: WaitMeter): Promise<void> {
    throwIfAborted(signal);
    const now = this.#clock.now();
    let bucket = this.#snapshots.get(snapshotId);
    if (!bucket) {
      if (this.#snapshots.size > 1000) for (const [id, b] of this.#snapshots) if (b.idle(now)) this.#snapshots.delete(id);
      bucket = new RequestBucket(this.snapshotRps, this.#burstMs, now);
      this.#snapshots.set(snapshotId, bucket);
    }
    const wait = Math.max(this.#account.reserve(now), bucket.reserve(now));
    this.requests++;
    if (wait > 0) await this.#wait(wait, signal, meter);
  }

  /**
   * Runs one request under the quota; on throttling (or another retryable error) backs off with
   * full jitter and tries again, up to maxRetries. `throttled: true` on an error marks throttling.
   */
  async run<T>(snapshotId: string, fn: () => Promise<T>, signal?: AbortSignal, meter?: WaitMeter): Promise<T> {
    // Every attempt, retries included, takes quota.
    return this.retry(async () => {
      await this.acquire(snapshotId, signal, meter);
      return fn();
    }, signal, meter);
  }

  /** Retries `fn` on retryable errors without taking GetSnapshotBlock quota (list and write calls). */
  async retry<T>(fn: () => Promise<T>, signal?: AbortSignal, meter?: WaitMeter): Promise<T> {
    for (let retry = 0; ; retry++) {
      throwIfAborted(signal);
      try {
        return await fn();
      } catch (err) {
        if (!isRetryable(err) || retry >= this.#maxRetries) throw err;
        if (isThrottle(err)) this.throttles++;
        await this.#wait(Math.max(1, backoffDelay(retry, this.#base, this.#max, this.#random)), signal, meter);
      }
    }
  }

  async #wait(ms: number, signal: AbortSignal | undefined, meter: WaitMeter | undefined): Promise<void> {
    this.throttledMs += ms;
    if (meter) meter.throttledMs += ms;
    await this.#sleep(ms, signal);
  }
}
