// Crash safety: a backup or prune killed at any write leaves a repository that verifies clean and restores exactly.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CorruptObjectError } from '../../core/errors.ts';
import { forgetPoints } from '../../core/maintenance/forget.ts';
import { pruneRepository } from '../../core/maintenance/prune.ts';
import { verifyRepository } from '../../core/maintenance/verify.ts';
import { FaultyObjectStore, SimulatedCrashError } from '../../core/store/faulty-object-store.ts';
import { listAll } from '../../core/store/object-store.ts';
import { mixedImage, prng } from '../support/images.ts';
import {
  assertPoints,
  assertVerifyClean,
  backup,
  MARGIN,
  MINUTE,
  newCtx,
  packIds,
  processorFor,
  referencedPacks,
  reopen,
  restoreBytes,
  replaceBlocks,
  type Backed,
} from '../support/repo-scenarios.ts';

const faulty = (inner: ConstructorParameters<typeof FaultyObjectStore>[0]) => new FaultyObjectStore(inner);

describe('a backup killed at any write', () => {
  const base = mixedImage('crash-base', 2 * 1024 * 1024 + 4321);
  const day2 = replaceBlocks(base, [1, 2, 3, 7, 8, 9, 10, 17, 18, 19, 20, 30], 'crash-day2');

  /** `indexPartEntries`: chunks per index object of the second backup (small: several are put while it runs). */
  async function setup(indexPartEntries?: number) {
    const ctx = await newCtx(faulty);
    const first = await backup(ctx, 'vol-1', base);
    ctx.clock.advance(MINUTE);
    ctx.store.resetCounters();
    return { ctx, first, second: () => backup(ctx, 'vol-1', day2.image, { parent: first, changed: day2.changed, indexPartEntries }) };
  }

  async function count(indexPartEntries?: number): Promise<{ puts: number; deletes: number }> {
    const { ctx, second } = await setup(indexPartEntries);
    const m2 = await second();
    assert.equal(m2.manifest.kind, 'incremental');
    assert.ok(m2.manifest.stats.packsWritten >= 2, `expected several packs, got ${m2.manifest.stats.packsWritten}`);
    return { puts: ctx.store.puts, deletes: ctx.store.deletes };
  }

  /** After the crash: a new process opens the repository on what the store kept. */
  async function checkAfterCrash(ctx: Awaited<ReturnType<typeof setup>>['ctx'], first: Backed, what: string, maxPoints = 2): Promise<void> {
    const repo = await reopen(ctx.store.inner, ctx.clock);
    const report = await assertVerifyClean(repo, what);
    const ids = await repo.listPointIds();
    assert.ok(ids.length >= 1 && ids.length <= maxPoints, `${what}: ${ids.length} restore points`);
    assert.ok(ids.includes(first.manifest.id), `${what}: the committed point is gone`);
    const expected = new Map(ids.map((id) => [id, id === first.manifest.id ? base : day2.image] as const));
    await assertPoints(repo, expected, what);
    assert.equal(report.points, ids.length);
    // The repository stays usable: the next backup of the same data commits and restores.
    ctx.clock.advance(MINUTE);
    const again = await backup({ ...ctx, repo }, 'vol-1', day2.image, { parent: first, changed: day2.changed });
    await assertPoints(repo, new Map([...expected, [again.manifest.id, day2.image]]), `${what}, then a new backup`);
  }

  it('put i crashes, for every i: no partial point, all points restore', async () => {
    const { puts } = await count();
    assert.ok(puts >= 5, `only ${puts} puts`);
    for (let i = 0; i < puts; i++) {
      const { ctx, first, second } = await setup();
      ctx.store.failAfterPuts(i, 'crash');
      await assert.rejects(second(), SimulatedCrashError, `put ${i}`);
      // A put of the manifest is the commit: any crash at or before it leaves only the first point.
      await checkAfterCrash(ctx, first, `crash at put ${i} of ${puts}`, 1);
    }
  });

  it('put i crashes, for every i, when index objects of 4 chunks are put while the backup runs', async () => {
    const { puts } = await count(4);
    const { puts: whole } = await count();
    assert.ok(puts >= whole + 3, `expected several index objects: ${puts} puts against ${whole} with one index object`);
    for (let i = 0; i < puts; i++) {
      const { ctx, first, second } = await setup(4);
      ctx.store.failAfterPuts(i, 'crash');
      await assert.rejects(second(), SimulatedCrashError, `put ${i}`);
      await checkAfterCrash(ctx, first, `crash at put ${i} of ${puts} (index parts of 4)`, 1);
    }
  });

  it('a torn put (half an object) at a sample of writes', async () => {
    const { puts } = await count();
    const sample = [...new Set([0, 1, Math.floor(puts / 2), puts - 2])].filter((i) => i >= 0 && i < puts - 2);
    for (const i of sample) {
      const { ctx, first, second } = await setup();
      ctx.store.failAfterPuts(i, 'torn');
      await assert.rejects(second(), SimulatedCrashError);
      await checkAfterCrash(ctx, first, `torn put ${i} of ${puts}`, 1);
    }
  });

  it('a torn index or manifest (a store breaking put atomicity) is named by verify and never restored from', async () => {
    const { puts } = await count();
    for (const i of [puts - 2, puts - 1]) {
      const { ctx, first, second } = await setup();
      const existing = new Set((await listAll(ctx.store.inner, '')).map((o) => o.key));
      ctx.store.failAfterPuts(i, 'torn');
      await assert.rejects(second(), SimulatedCrashError);
      const repo = await reopen(ctx.store.inner, ctx.clock);
      const prefix = i === puts - 1 ? 'points/' : 'index/';
      const torn = (await listAll(ctx.store.inner, prefix)).map((o) => o.key).filter((k) => !existing.has(k));
      assert.equal(torn.length, 1, `one torn ${prefix} object`);
      const report = await verifyRepository(repo, processorFor(repo), { full: true });
      assert.equal(report.ok, false);
      assert.ok(report.problems.some((p) => torn.includes(p.key)), `verify names the torn object: ${JSON.stringify(report.problems)}`);
      try {
        assert.ok((await restoreBytes(repo, first.manifest.id)).equals(base), 'wrong bytes restored');
      } catch (err) {
        assert.ok(err instanceof CorruptObjectError && torn.includes(err.key), `unexpected ${String(err)}`);
      }
      if (prefix === 'points/') {
        const id = torn[0].slice('points/'.length);
        await assert.rejects(repo.readManifest(id), (err) => err instanceof CorruptObjectError && err.key === torn[0]);
      }
    }
  });

  it('a crash while releasing the lease (after the commit) keeps the new point', async () => {
    const { deletes } = await count();
    assert.equal(deletes, 1, 'a backup deletes only its lease');
    const { ctx, first, second } = await setup();
    ctx.store.failAfterDeletes(0, 'crash');
    const m2 = await second();
    assert.ok(ctx.store.crashed);
    const repo = await reopen(ctx.store.inner, ctx.clock);
    await assertVerifyClean(repo, 'crash at lease release');
    await assertPoints(repo, new Map([[first.manifest.id, base], [m2.manifest.id, day2.image]]), 'crash at lease release');
  });
});

describe('a prune killed at any write or delete', () => {
  const p1 = prng('prune-p1', 1024 * 1024);
  const p2 = replaceBlocks(p1, [8, 9, 10, 11, 12, 13, 14, 15], 'prune-p2');
  const q1 = mixedImage('prune-q1', 768 * 1024);
  const q2 = mixedImage('prune-q2', 768 * 1024);

  /** Points p1 < p2 (vol-p) and q1 < q2 (vol-q); p1 forgotten and marked; q1 forgotten; the sweep run is next. */
  async function setup() {
    const ctx = await newCtx(faulty);
    const b1 = await backup(ctx, 'vol-p', p1);
    ctx.clock.advance(MINUTE);
    const b2 = await backup(ctx, 'vol-p', p2.image, { parent: b1, changed: p2.changed });
    ctx.clock.advance(MINUTE);
    await backup(ctx, 'vol-q', q1);
    ctx.clock.advance(MINUTE);
    const c2 = await backup(ctx, 'vol-q', q2);
    await forgetPoints(ctx.repo, { keepLast: 1 }, { resourceId: 'vol-p' });
    ctx.clock.advance(MARGIN + MINUTE);
    const mark = await pruneRepository(ctx.repo, { safetyMarginMs: MARGIN });
    assert.ok(mark.markedPacks >= 1, `mark run marked ${mark.markedPacks}`);
    await forgetPoints(ctx.repo, { keepLast: 1 }, { resourceId: 'vol-q' });
    ctx.clock.advance(MARGIN + MINUTE);
    ctx.store.resetCounters();
    const expected = new Map([[b2.manifest.id, p2.image], [c2.manifest.id, q2]]);
    return { ctx, expected, sweep: () => pruneRepository(ctx.repo, { safetyMarginMs: MARGIN }) };
  }

  async function afterCrash(ctx: Awaited<ReturnType<typeof setup>>['ctx'], expected: Map<string, Buffer>, what: string): Promise<void> {
    const repo = await reopen(ctx.store.inner, ctx.clock);
    await assertVerifyClean(repo, what);
    await assertPoints(repo, expected, what);
    await pruneRepository(repo, { safetyMarginMs: MARGIN });
    await assertVerifyClean(repo, `${what}, then a prune`);
    await assertPoints(repo, expected, `${what}, then a prune`);
    // Two more mark/sweep cycles leave no garbage: every remaining pack is needed.
    for (let cycle = 0; cycle < 2; cycle++) {
      ctx.clock.advance(MARGIN + MINUTE);
      await pruneRepository(repo, { safetyMarginMs: MARGIN });
    }
    await assertVerifyClean(repo, `${what}, after cleanup`);
    await assertPoints(repo, expected, `${what}, after cleanup`);
    assert.deepEqual([...(await packIds(repo.store))].sort(), [...(await referencedPacks(repo))].sort(), `${what}: unreferenced packs left`);
    assert.equal((await listAll(repo.store, 'markers/')).length, 0, `${what}: markers left`);
  }

  it('the sweep run does puts and deletes (the probe)', async () => {
    const { ctx, expected, sweep } = await setup();
    const report = await sweep();
    assert.ok(report.deletedPacks >= 1 && report.rewrittenIndexes >= 1 && report.markedPacks >= 1, JSON.stringify(report));
    assert.ok(ctx.store.puts >= 2 && ctx.store.deletes >= 3, `puts ${ctx.store.puts}, deletes ${ctx.store.deletes}`);
    await afterCrash(ctx, expected, 'no crash');
  });

  it('crash at every put and every delete of the sweep run', async () => {
    const probe = await setup();
    await probe.sweep();
    const { puts, deletes } = probe.ctx.store;
    const faults = [...Array.from({ length: puts }, (_, i) => ['put', i] as const), ...Array.from({ length: deletes }, (_, i) => ['delete', i] as const)];
    for (const [op, i] of faults) {
      const { ctx, expected, sweep } = await setup();
      if (op === 'put') ctx.store.failAfterPuts(i, 'crash');
      else ctx.store.failAfterDeletes(i, 'crash');
      await assert.rejects(sweep(), SimulatedCrashError, `${op} ${i}`);
      await afterCrash(ctx, expected, `crash at ${op} ${i} (of ${puts} puts, ${deletes} deletes)`);
    }
  });
});
