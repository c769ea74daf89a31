// Repository limits: task slots (FIFO, abortable), rate shares recomputed as tasks come and go, throttled backups.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../core/clock.ts';
import { backupResource } from '../../core/engine/backup.ts';
import { restoreDisk } from '../../core/engine/restore.ts';
import { BusyTimer } from '../../core/engine/stage-timer.ts';
import { AbortedError, InvalidArgumentError } from '../../core/errors.ts';
import { MB, RepositoryLimiter, type RepositoryTask } from '../../core/store/repository-limits.ts';
import { MemoryObjectStore } from '../../providers/memory/memory-object-store.ts';
import { repositoryLimits } from '../../cli/context.ts';
import { BufferSink, BufferSnapshotSource } from '../support/buffer-volume.ts';
import { mixedImage } from '../support/images.ts';
import { makeRepo } from '../support/repo-fixture.ts';

/** A limiter on a manual clock whose sleeps are recorded and move the clock. */
function manual(limits: ConstructorParameters<typeof RepositoryLimiter>[0], clock = new ManualClock()) {
  const sleeps: number[] = [];
  const limiter = new RepositoryLimiter(limits, {
    clock,
    sleep: async (ms) => {
      sleeps.push(Math.round(ms));
      clock.advance(ms);
    },
  });
  return { limiter, clock, sleeps };
}

const settled = () => new Promise((r) => setImmediate(r));

describe('RepositoryLimiter task slots', () => {
  it('starts a third task only after one of two running ends, first come first served', async () => {
    const { limiter } = manual({ maxConcurrentTasks: 2 });
    const t1 = await limiter.begin();
    await limiter.begin();
    const started: string[] = [];
    const p3 = limiter.begin().then((t) => (started.push('t3'), t));
    const p4 = limiter.begin().then((t) => (started.push('t4'), t));
    await settled();
    assert.deepEqual(started, []);
    assert.equal(limiter.running, 2);
    assert.equal(limiter.waiting, 2);
    t1.end();
    t1.end(); // idempotent: frees one slot only
    await settled();
    assert.deepEqual(started, ['t3']);
    (await p3).end();
    await p4;
    assert.deepEqual(started, ['t3', 't4']);
    assert.equal(limiter.running, 2);
  });

  it('rejects a waiting task when its signal aborts and keeps the queue going', async () => {
    const { limiter } = manual({ maxConcurrentTasks: 1 });
    const t1 = await limiter.begin();
    const ac = new AbortController();
    const waiting = limiter.begin(ac.signal);
    const after = limiter.begin();
    ac.abort();
    await assert.rejects(waiting, AbortedError);
    assert.equal(limiter.waiting, 1);
    t1.end();
    const t2 = await after;
    assert.equal(limiter.running, 1);
    t2.end();
    await assert.rejects(limiter.begin(AbortSignal.abort()), AbortedError);
    assert.equal(limiter.running, 0);
  });

  it('refuses limits that are not positive', () => {
    assert.throws(() => new RepositoryLimiter({ maxConcurrentTasks: 0 }), InvalidArgumentError);
    assert.throws(() => new RepositoryLimiter({ maxConcurrentTasks: 1.5 }), InvalidArgumentError);
    assert.throws(() => new RepositoryLimiter({ writeMBps: -1 }), InvalidArgumentError);
    assert.throws(() => new RepositoryLimiter({ readMBps: Number.NaN }), InvalidArgumentError);
  });
});

describe('RepositoryLimiter rate shares', () => {
  it('splits 10 MB/s between two tasks and gives it back to the one left', async () => {
    const { limiter, sleeps } = manual({ writeMBps: 10 });
    const inner = new MemoryObjectStore();
    const a = await limiter.begin();
    assert.equal(a.rate('write'), 10 * MB);
    assert.equal(a.rate('read'), undefined, 'reads are unlimited');
    const b = await limiter.begin();
    assert.equal(a.rate('write'), 5 * MB);
    assert.equal(b.rate('write'), 5 * MB);
    const sa = a.store(inner);
    const sb = b.store(inner);
    const block = new Uint8Array(5 * MB);
    await sa.put('a1', block); // the burst: one second of the share
    await sa.put('a2', block); // 5 MB at 5 MB/s
    assert.deepEqual(sleeps, [1000]);
    await sb.put('b1', block);
    await sb.put('b2', block);
    assert.deepEqual(sleeps, [1000, 1000]);
    b.end();
    assert.equal(a.rate('write'), 10 * MB);
    // a's bucket refilled to its 5 MB burst at the old rate; 10 MB at 10 MB/s leaves 5 MB to wait out.
    await sa.put('a3', new Uint8Array(10 * MB));
    assert.deepEqual(sleeps, [1000, 1000, 500]);
    assert.equal(a.throttledMs, 1500);
    assert.equal(b.throttledMs, 1000);
    a.end();
    assert.deepEqual([...(await Promise.all(['a1', 'a2', 'a3', 'b1', 'b2'].map((k) => inner.stat(k))))].map((i) => i.size), [5, 5, 10, 5, 5].map((n) => n * MB));
  });

  it('waits before a ranged read and charges a whole-object read once it arrived', async () => {
    const { limiter, sleeps } = manual({ readMBps: 1 });
    const inner = new MemoryObjectStore();
    await inner.put('obj', new Uint8Array(2 * MB));
    const task = await limiter.begin();
    const store = task.store(inner);
    assert.equal((await store.get('obj', { range: { offset: 0, length: MB } })).length, MB); // the burst
    assert.deepEqual(sleeps, []);
    assert.equal((await store.get('obj')).length, 2 * MB);
    assert.deepEqual(sleeps, [2000]);
    await store.put('other', new Uint8Array(10 * MB)); // writes are unlimited
    assert.deepEqual(sleeps, [2000]);
    task.end();
  });

  it('counts waits as throttling, not as the I/O stage they hold up, and accumulates throttled time', async () => {
    const { limiter, clock } = manual({ writeMBps: 1 });
    const throttling = new BusyTimer(clock);
    const write = new BusyTimer(clock);
    const task: RepositoryTask = await limiter.begin();
    const store = task.store(new MemoryObjectStore(), { throttling, write });
    for (let i = 0; i < 3; i++) await write.time(() => store.put(`k${i}`, new Uint8Array(MB)));
    assert.equal(task.throttledMs, 2000);
    assert.equal(throttling.totalMs, 2000);
    assert.equal(write.totalMs, 0, 'the wait is not target-write time');
    task.end();
  });
});

describe('repository limits from the command line', () => {
  it('parses --max-tasks, --read-limit and --write-limit and names a bad flag and value', () => {
    assert.equal(repositoryLimits({}), undefined);
    assert.deepEqual(repositoryLimits({ maxTasks: '2', writeLimit: '12.5' }), { maxConcurrentTasks: 2, readMBps: undefined, writeMBps: 12.5 });
    assert.throws(() => repositoryLimits({ maxTasks: '0' }), (e: Error) => e instanceof InvalidArgumentError && /--max-tasks "0"/.test(e.message));
    assert.throws(() => repositoryLimits({ maxTasks: '1.5' }), /--max-tasks "1.5"/);
    assert.throws(() => repositoryLimits({ readLimit: 'fast' }), /--read-limit "fast": expected a positive number of MB\/s/);
    assert.throws(() => repositoryLimits({ writeLimit: '-3' }), /--write-limit "-3"/);
  });
});

describe('backup and restore through a limiter', () => {
  it('a tiny write limit makes throttling the bottleneck, and the point still restores exactly', async () => {
    const clock = new ManualClock();
    const ctx = await makeRepo({ clock });
    const { limiter, sleeps } = manual({ maxConcurrentTasks: 1, writeMBps: 0.1, readMBps: 0.1 }, clock);
    const source = new BufferSnapshotSource(64 * 1024);
    const image = mixedImage('limits', 768 * 1024 + 123);
    const snap = source.snapshot('vol-1', image);
    const resource = { id: 'vol-1', kind: 'volume' as const, provider: 'test' };
    const m = await backupResource({ repo: ctx.repo, index: await ctx.repo.loadIndex(), source, processor: ctx.processor, limiter }, { resource, disks: [{ name: 'root', snapshot: snap }] });
    assert.ok(sleeps.length > 0, 'pack uploads waited for the write limit');
    assert.ok(m.stats.stages.throttling > 0, `throttling ${m.stats.stages.throttling}`);
    assert.equal(m.stats.bottleneck, 'throttling', JSON.stringify(m.stats.stages));
    assert.ok(m.stats.stages.throttling > m.stats.stages.targetWrite);
    assert.equal(limiter.running, 0, 'the task slot is given back');

    const sink = new BufferSink();
    const before = sleeps.length;
    const r = await restoreDisk({ repo: ctx.repo, index: await ctx.repo.loadIndex(), processor: ctx.processor, limiter }, await ctx.repo.readManifest(m.id), 'root', sink);
    assert.ok(sleeps.length > before, 'pack reads waited for the read limit');
    assert.ok(r.stages.throttling > 0);
    assert.equal(r.bottleneck, 'throttling', JSON.stringify(r.stages));
    assert.ok(sink.data.equals(image), 'restored bytes differ');
    assert.equal(limiter.running, 0);
  });
});
