// Tests RetryingObjectStore: which errors are retried, the backoff schedule, cancellation and list restarts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AbortedError, CloudkeepError } from '../../core/errors.ts';
import { FaultyObjectStore } from '../../core/store/faulty-object-store.ts';
import { listAll, ObjectNotFoundError, StoreError, type IoOptions, type ObjectInfo } from '../../core/store/object-store.ts';
import { backoffDelay, RetryingObjectStore, type RetryOptions } from '../../core/store/retrying-object-store.ts';
import { MemoryObjectStore } from '../../providers/memory/memory-object-store.ts';
import { describeObjectStoreContract } from '../support/object-store-contract.ts';

describeObjectStoreContract('RetryingObjectStore over memory', async () => ({
  store: new RetryingObjectStore(new MemoryObjectStore()),
  cleanup: async () => {},
}));

/** A memory store whose calls fail with queued errors first. */
class FlakyStore extends MemoryObjectStore {
  readonly failures: unknown[] = [];
  calls = 0;
  /** Fail the listing after this many yielded items (once per queued error). */
  listFailAfter = 0;
  override async get(key: string, options?: IoOptions): Promise<Buffer> {
    this.calls++;
    if (this.failures.length > 0) throw this.failures.shift();
    return super.get(key, options);
  }
  override async *list(prefix: string, options?: IoOptions): AsyncIterable<ObjectInfo> {
    this.calls++;
    let n = 0;
    for await (const info of super.list(prefix, options)) {
      if (n++ === this.listFailAfter && this.failures.length > 0) throw this.failures.shift();
      yield info;
    }
  }
}

const transient = () => new StoreError('throttled', 'k', { retryable: true });

function setup(options: RetryOptions = {}) {
  const inner = new FlakyStore();
  const sleeps: number[] = [];
  const store = new RetryingObjectStore(inner, { random: () => 0.5, sleep: async (ms) => void sleeps.push(ms), ...options });
  return { inner, store, sleeps };
}

describe('RetryingObjectStore', () => {
  it('retries retryable errors with doubling full-jitter backoff, then succeeds', async () => {
    const { inner, store, sleeps } = setup();
    await inner.put('k', Buffer.from('v'));
    inner.failures.push(transient(), transient(), transient());
    assert.equal((await store.get('k')).toString(), 'v');
    assert.equal(inner.calls, 4);
    assert.deepEqual(sleeps, [50, 100, 200]);
  });

  it('gives up after maxAttempts with the last error', async () => {
    const { inner, store, sleeps } = setup({ maxAttempts: 3 });
    const last = new StoreError('third', 'k', { retryable: true });
    inner.failures.push(transient(), transient(), last, transient());
    await assert.rejects(store.get('k'), (err) => err === last);
    assert.equal(inner.calls, 3);
    assert.equal(sleeps.length, 2);
  });

  for (const [label, error] of [
    ['ObjectNotFoundError', new ObjectNotFoundError('k')],
    ['a non-retryable StoreError', new StoreError('denied', 'k')],
    ['an untyped error', new Error('bug')],
    ['a retryable AbortedError', new AbortedError('stop', { retryable: true })],
  ] as const) {
    it(`does not retry ${label}`, async () => {
      const { inner, store, sleeps } = setup();
      inner.failures.push(error);
      await assert.rejects(store.get('k'), (err) => err === error);
      assert.equal(inner.calls, 1);
      assert.deepEqual(sleeps, []);
    });
  }

  it('caps the backoff at maxDelayMs', () => {
    const caps = Array.from({ length: 8 }, (_, i) => backoffDelay(i, 100, 5000, () => 1));
    assert.deepEqual(caps, [100, 200, 400, 800, 1600, 3200, 5000, 5000]);
    assert.equal(backoffDelay(3, 100, 5000, () => 0), 0);
  });

  it('passes the configured base and cap through to the schedule', async () => {
    const { inner, store, sleeps } = setup({ baseDelayMs: 10, maxDelayMs: 30, random: () => 0.999, maxAttempts: 6 });
    await inner.put('k', Buffer.from('v'));
    for (let i = 0; i < 5; i++) inner.failures.push(transient());
    await store.get('k');
    assert.deepEqual(sleeps, [9, 19, 29, 29, 29]);
  });

  it('does not call the store when the signal is already aborted', async () => {
    const { inner, store } = setup();
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(store.get('k', { signal: controller.signal }), AbortedError);
    assert.equal(inner.calls, 0);
  });

  it('stops retrying when aborted during the backoff', async () => {
    const controller = new AbortController();
    const { inner, store } = setup({ sleep: async () => controller.abort() });
    inner.failures.push(transient(), transient());
    await assert.rejects(store.get('k', { signal: controller.signal }), AbortedError);
    assert.equal(inner.calls, 1);
  });

  it('waits for real with the default sleep, and that sleep honours abort', async () => {
    const inner = new FlakyStore();
    await inner.put('k', Buffer.from('v'));
    inner.failures.push(transient());
    const fast = new RetryingObjectStore(inner, { baseDelayMs: 1 });
    assert.equal((await fast.get('k')).toString(), 'v');

    inner.failures.push(transient());
    const slow = new RetryingObjectStore(inner, { baseDelayMs: 60_000, maxDelayMs: 60_000, random: () => 1 });
    const started = Date.now();
    await assert.rejects(slow.get('k', { signal: AbortSignal.timeout(20) }), AbortedError);
    assert.ok(Date.now() - started < 5000);
  });

  it('restarts a failed listing without yielding any key twice', async () => {
    const { inner, store, sleeps } = setup();
    for (const k of ['l/1', 'l/2', 'l/3', 'l/4']) await inner.put(k, Buffer.from(k));
    inner.listFailAfter = 2;
    inner.failures.push(transient(), transient());
    const keys = (await listAll(store, 'l/')).map((i) => i.key);
    assert.deepEqual([...keys].sort(), ['l/1', 'l/2', 'l/3', 'l/4']);
    assert.equal(keys.length, 4);
    assert.equal(sleeps.length, 2);
  });

  it('gives up on a listing that keeps failing without progress', async () => {
    const { inner, store } = setup({ maxAttempts: 2 });
    await inner.put('l/1', Buffer.from('1'));
    inner.failures.push(transient(), transient(), transient());
    await assert.rejects(listAll(store, 'l/'), StoreError);
    assert.equal(inner.calls, 2);
  });

  it('retries an injected retryable put fault and writes once it passes', async () => {
    const inner = new MemoryObjectStore();
    const faulty = new FaultyObjectStore(inner);
    const store = new RetryingObjectStore(faulty, { sleep: async () => {} });
    faulty.failAfterPuts(0, 'throw', { retryable: true });
    await store.put('p', Buffer.from('x'));
    assert.equal(faulty.puts, 2);
    assert.equal((await inner.get('p')).toString(), 'x');
  });

  it('reports each retry through onRetry', async () => {
    const events: Array<[string, number, number]> = [];
    const { inner, store } = setup({ onRetry: (e) => events.push([e.op, e.attempt, e.delayMs]) });
    await inner.put('k', Buffer.from('v'));
    inner.failures.push(transient(), new CloudkeepError('net', { retryable: true }));
    await store.get('k');
    assert.deepEqual(events, [['get', 1, 50], ['get', 2, 100]]);
  });

  it('rejects maxAttempts below 1', () => {
    assert.throws(() => new RetryingObjectStore(new MemoryObjectStore(), { maxAttempts: 0 }), RangeError);
  });
});
