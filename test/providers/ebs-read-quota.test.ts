// EbsReadQuota on a ManualClock: per-snapshot and per-account request rates, back-off, waits counted.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../core/clock.ts';
import { AbortedError, CloudkeepError } from '../../core/errors.ts';
import { EbsReadQuota } from '../../providers/aws/ebs-read-quota.ts';

function manual() {
  const clock = new ManualClock(0);
  const sleep = async (ms: number) => {
    const until = clock.now() + ms;
    await Promise.resolve();
    if (clock.now() < until) clock.set(until);
  };
  return { clock, sleep };
}

/** Most requests sent in any window of `windowMs` starting at a send time. */
function peak(times: number[], windowMs: number): number {
  let best = 0;
  for (let i = 0, j = 0; i < times.length; i++) {
    while (times[i] - times[j] >= windowMs) j++;
    best = Math.max(best, i - j + 1);
  }
  return best;
}

describe('EbsReadQuota', () => {
  it('keeps 2,000 requests to one snapshot under 1,000/s', async () => {
    const { clock, sleep } = manual();
    const quota = new EbsReadQuota({ clock, sleep, snapshotRps: 1000, accountRps: 5000 });
    const times: number[] = [];
    for (let i = 0; i < 2000; i++) {
      await quota.acquire('snap-1');
      times.push(clock.now());
    }
    assert.ok(peak(times, 1000) <= 1000 + 100, `peak ${peak(times, 1000)} in 1 s (burst 100)`);
    assert.ok(clock.now() >= 1800, `2,000 requests took ${clock.now()} ms`);
    assert.ok(quota.throttledMs >= 1800 * 0.9, `throttledMs ${quota.throttledMs}`);
  });

  it('holds the account limit across snapshots and the snapshot limit per snapshot, with concurrent callers', async () => {
    const { clock, sleep } = manual();
    const quota = new EbsReadQuota({ clock, sleep, snapshotRps: 400, accountRps: 1000 });
    const times = new Map<string, number[]>();
    const worker = async (snap: string, n: number) => {
      for (let i = 0; i < n; i++) {
        await quota.acquire(snap);
        if (!times.has(snap)) times.set(snap, []);
        times.get(snap)!.push(clock.now());
      }
    };
    // Four snapshots, 800 requests each: the account (1,000/s) binds, 3,200 requests need about 3.1 s.
    await Promise.all(['a', 'b', 'c', 'd'].flatMap((s) => [worker(s, 400), worker(s, 400)]));
    assert.ok(clock.now() >= 3000, `3,200 requests in ${clock.now()} ms`);
    for (const [snap, t] of times) {
      t.sort((x, y) => x - y);
      assert.equal(t.length, 800);
      assert.ok(t.at(-1)! - t[0] >= 1500, `snapshot ${snap}: 800 requests in ${t.at(-1)! - t[0]} ms at 400/s`);
    }
  });

  it('retries throttled calls with exponential back-off and gives up after maxRetries', async () => {
    const { clock, sleep } = manual();
    const quota = new EbsReadQuota({ clock, sleep, random: () => 0.99, baseBackoffMs: 100, maxRetries: 3 });
    let calls = 0;
    const throttled = () => Object.assign(new CloudkeepError('throttled', { retryable: true }), { throttled: true });
    const result = await quota.run('s', async () => {
      if (++calls <= 2) throw throttled();
      return 'ok';
    });
    assert.equal(result, 'ok');
    assert.equal(quota.throttles, 2);
    assert.ok(quota.throttledMs >= 99 + 198, `throttledMs ${quota.throttledMs}`);
    calls = 0;
    await assert.rejects(quota.run('s', async () => {
      calls++;
      throw throttled();
    }), /throttled/);
    assert.equal(calls, 4);
    await assert.rejects(quota.run('s', async () => {
      throw new CloudkeepError('denied');
    }), /denied/);
  });

  it('stops waiting when aborted', async () => {
    const quota = new EbsReadQuota({ snapshotRps: 1, burstMs: 1000 });
    await quota.acquire('s');
    const ac = new AbortController();
    const waiting = quota.acquire('s', ac.signal);
    ac.abort();
    await assert.rejects(waiting, AbortedError);
  });

  it('rejects rates that are not positive', () => {
    assert.throws(() => new EbsReadQuota({ accountRps: 0 }), /accountRps 0/);
  });
});
