// Prune: unreferenced packs are marked, then deleted once the margin passed; kept, young and reused packs survive.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { backupResource } from '../../core/engine/backup.ts';
import { forgetPoints } from '../../core/maintenance/forget.ts';
import { pruneRepository } from '../../core/maintenance/prune.ts';
import { MARKERS_PREFIX } from '../../core/repo/layout.ts';
import { FaultyObjectStore, SimulatedCrashError } from '../../core/store/faulty-object-store.ts';
import { listAll } from '../../core/store/object-store.ts';
import { mixedImage, prng } from '../support/images.ts';
import {
  assertPoints,
  assertVerifyClean,
  backup,
  dumpStore,
  MARGIN,
  MINUTE,
  newCtx,
  packIds,
  referencedPacks,
  reopen,
  resource,
  type Ctx,
} from '../support/repo-scenarios.ts';

const prune = (ctx: { repo: Ctx['repo'] }, dryRun = false) => pruneRepository(ctx.repo, { safetyMarginMs: MARGIN, dryRun });
const minus = (a: Set<string>, b: Set<string>) => new Set([...a].filter((x) => !b.has(x)));

/** Backs up `image` and returns the packs it added. */
async function backupNew(ctx: Ctx, res: string, image: Buffer) {
  const before = await packIds(ctx.store);
  const b = await backup(ctx, res, image);
  return { ...b, packs: minus(await packIds(ctx.store), before) };
}

describe('prune', () => {
  it('deletes the packs only forgotten points used, only after the margin; kept points restore exactly', async () => {
    const ctx = await newCtx();
    const a1 = await backupNew(ctx, 'vol-a', prng('a1', 768 * 1024));
    ctx.clock.advance(MINUTE);
    const a2 = await backupNew(ctx, 'vol-a', prng('a2', 768 * 1024));
    const b1 = await backupNew(ctx, 'vol-b', mixedImage('b1', 1024 * 1024));
    assert.ok(a1.packs.size >= 2);
    const decisions = await forgetPoints(ctx.repo, { keepLast: 1 });
    assert.deepEqual(decisions.flatMap((d) => d.remove), [a1.manifest.id]);
    const all = await packIds(ctx.store);

    assert.equal((await prune(ctx)).markedPacks, 0, 'packs younger than the margin were marked');
    ctx.clock.advance(MARGIN + MINUTE);
    const mark = await prune(ctx);
    assert.equal(mark.markedPacks, a1.packs.size);
    assert.equal(mark.deletedPacks, 0, 'the deciding run deleted');
    assert.deepEqual(await packIds(ctx.store), all);

    ctx.clock.advance(MARGIN / 2);
    const early = await prune(ctx);
    assert.deepEqual([early.deletedPacks, early.markedPacks, early.waitingMarks], [0, 0, 1], 'a run before the margin passed');
    assert.deepEqual(await packIds(ctx.store), all);

    ctx.clock.advance(MARGIN / 2 + MINUTE);
    const sweep = await prune(ctx);
    assert.equal(sweep.deletedPacks, a1.packs.size);
    assert.ok(sweep.deletedBytes > 0 && sweep.rewrittenIndexes === 1, JSON.stringify(sweep));
    assert.deepEqual(await packIds(ctx.store), minus(all, a1.packs));
    for (const p of [...a2.packs, ...b1.packs]) assert.ok((await packIds(ctx.store)).has(p), 'a kept pack was deleted');
    assert.equal((await listAll(ctx.store, MARKERS_PREFIX)).length, 0, 'the done marker is left');
    await assertVerifyClean(ctx.repo);
    await assertPoints(ctx.repo, new Map([[a2.manifest.id, a2.image], [b1.manifest.id, b1.image]]));

    ctx.clock.advance(MARGIN + MINUTE);
    const idle = await prune(ctx);
    assert.deepEqual([idle.markedPacks, idle.deletedPacks], [0, 0], 'a clean repository has nothing to prune');
  });

  it('never marks packs younger than the margin, and takes them once they are old', async () => {
    const ctx = await newCtx();
    const x1 = await backupNew(ctx, 'vol-x', prng('x1', 512 * 1024));
    ctx.clock.advance(50 * MINUTE);
    const x2 = await backupNew(ctx, 'vol-x', prng('x2', 512 * 1024));
    ctx.clock.advance(5 * MINUTE);
    const x3 = await backupNew(ctx, 'vol-x', prng('x3', 512 * 1024));
    await forgetPoints(ctx.repo, { keepLast: 1 });
    ctx.clock.advance(MARGIN - 45 * MINUTE);
    // x1's packs are older than the margin, x2's are 40 minutes younger than it.
    assert.equal((await prune(ctx)).markedPacks, x1.packs.size);
    ctx.clock.advance(MARGIN + MINUTE);
    const second = await prune(ctx);
    assert.deepEqual([second.deletedPacks, second.markedPacks], [x1.packs.size, x2.packs.size]);
    ctx.clock.advance(MARGIN + MINUTE);
    assert.equal((await prune(ctx)).deletedPacks, x2.packs.size);
    assert.deepEqual(await packIds(ctx.store), x3.packs);
    await assertVerifyClean(ctx.repo);
    await assertPoints(ctx.repo, new Map([[x3.manifest.id, x3.image]]));
  });

  it('revives a marked pack that a restore point committed since the mark uses', async () => {
    const ctx = await newCtx();
    const image = prng('revive', 768 * 1024);
    const y1 = await backupNew(ctx, 'vol-y', image);
    ctx.clock.advance(MINUTE);
    const y2 = await backupNew(ctx, 'vol-y', prng('other', 256 * 1024));
    await forgetPoints(ctx.repo, { keepLast: 1 });
    ctx.clock.advance(MARGIN + MINUTE);
    assert.equal((await prune(ctx)).markedPacks, y1.packs.size);
    // A backup that loaded its index before the mark (markers not excluded) dedups into the marked packs.
    const snap = ctx.source.snapshot('vol-y', image);
    const y3 = await backupResource({ repo: ctx.repo, index: await ctx.repo.loadIndex(), source: ctx.source, processor: ctx.processor }, { resource: resource('vol-y'), disks: [{ name: 'root', snapshot: snap }] });
    assert.equal(y3.stats.packsWritten, 0, 'the backup should reuse every chunk');
    ctx.clock.advance(MARGIN + MINUTE);
    const sweep = await prune(ctx);
    assert.deepEqual([sweep.revivedPacks, sweep.deletedPacks, sweep.markedPacks], [y1.packs.size, 0, 0], JSON.stringify(sweep));
    for (const p of y1.packs) assert.ok((await packIds(ctx.store)).has(p), 'a revived pack was deleted');
    assert.equal((await listAll(ctx.store, MARKERS_PREFIX)).length, 0);
    await assertVerifyClean(ctx.repo);
    await assertPoints(ctx.repo, new Map([[y2.manifest.id, y2.image], [y3.id, image]]));
    ctx.clock.advance(MARGIN + MINUTE);
    assert.equal((await prune(ctx)).markedPacks, 0, 'a used pack was marked again');
  });

  it('removes orphan packs of a crashed backup after the margin', async () => {
    const ctx = await newCtx((inner) => new FaultyObjectStore(inner));
    const c1 = await backupNew(ctx, 'vol-c', mixedImage('c1', 512 * 1024));
    const before = await packIds(ctx.store);
    ctx.clock.advance(MINUTE);
    ctx.store.failAfterPuts(3, 'crash');
    await assert.rejects(backup(ctx, 'vol-c', prng('c2', 1536 * 1024)), SimulatedCrashError);
    const repo = await reopen(ctx.store.inner, ctx.clock);
    const orphans = minus(await packIds(repo.store), before);
    assert.ok(orphans.size >= 1, 'the crash left no orphan pack');
    assert.equal((await listAll(repo.store, 'sessions/')).length, 1, 'the crashed backup left its lease');
    assert.equal((await pruneRepository(repo, { safetyMarginMs: MARGIN })).markedPacks, 0, 'young orphans were marked');
    ctx.clock.advance(MARGIN + MINUTE);
    assert.equal((await pruneRepository(repo, { safetyMarginMs: MARGIN })).markedPacks, orphans.size);
    ctx.clock.advance(MARGIN + MINUTE);
    assert.equal((await pruneRepository(repo, { safetyMarginMs: MARGIN })).deletedPacks, orphans.size);
    assert.deepEqual(await packIds(repo.store), before);
    const report = await assertVerifyClean(repo);
    assert.equal(report.unindexedPacks, 0);
    await assertPoints(repo, new Map([[c1.manifest.id, c1.image]]));
  });

  it('dryRun reports but changes nothing, in the marking run and in the deleting run', async () => {
    const ctx = await newCtx();
    const d1 = await backupNew(ctx, 'vol-d', prng('d1', 512 * 1024));
    ctx.clock.advance(MINUTE);
    const d2 = await backupNew(ctx, 'vol-d', prng('d2', 512 * 1024));
    await forgetPoints(ctx.repo, { keepLast: 1 });
    ctx.clock.advance(MARGIN + MINUTE);
    let dump = await dumpStore(ctx.store);
    const dryMark = await prune(ctx, true);
    assert.equal(dryMark.markedPacks, d1.packs.size);
    assert.deepEqual(await dumpStore(ctx.store), dump, 'a dry marking run changed the store');
    await prune(ctx);
    ctx.clock.advance(MARGIN + MINUTE);
    dump = await dumpStore(ctx.store);
    const drySweep = await prune(ctx, true);
    assert.equal(drySweep.deletedPacks, d1.packs.size);
    assert.deepEqual(await dumpStore(ctx.store), dump, 'a dry deleting run changed the store');
    assert.equal((await prune(ctx)).deletedPacks, d1.packs.size);
    assert.deepEqual(await packIds(ctx.store), await referencedPacks(ctx.repo));
    await assertPoints(ctx.repo, new Map([[d2.manifest.id, d2.image]]));
  });
});
