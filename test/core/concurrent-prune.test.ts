// Backups and prunes at the same time lose nothing: chosen interleavings held open by a pausing store, then a random mix.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { forgetPoints } from '../../core/maintenance/forget.ts';
import { pruneRepository } from '../../core/maintenance/prune.ts';
import { MARKERS_PREFIX, PACKS_PREFIX, SESSIONS_PREFIX } from '../../core/repo/layout.ts';
import type { Repository } from '../../core/repo/repository.ts';
import { listAll } from '../../core/store/object-store.ts';
import { prng } from '../support/images.ts';
import {
  assertPoints,
  assertVerifyClean,
  backup,
  MARGIN,
  MINUTE,
  newCtx,
  nth,
  packIds,
  PausingStore,
  refreshLeases,
  replaceBlocks,
  viaStore,
  type Backed,
  type Ctx,
  type Op,
} from '../support/repo-scenarios.ts';

const prune = (repo: Repository) => pruneRepository(repo, { safetyMarginMs: MARGIN });
const isList = (prefix: string) => (op: Op, key: string) => op === 'list' && key === prefix;
const isPut = (prefix: string) => (op: Op, key: string) => op === 'put' && key.startsWith(prefix);

/** Points a1 (image `forgotten`, then forgotten) and a2 of vol-a, all older than the margin. */
async function withForgottenPoint(ctx: Ctx, forgotten: Buffer) {
  const a1 = await backup(ctx, 'vol-a', forgotten);
  const a1Packs = await packIds(ctx.store);
  ctx.clock.advance(MINUTE);
  const a2 = await backup(ctx, 'vol-a', prng('a2', 256 * 1024));
  await forgetPoints(ctx.repo, { keepLast: 1 });
  ctx.clock.advance(MARGIN + MINUTE);
  return { a1, a2, a1Packs };
}

/** A backup through its own pausing view of the store; `gate` holds it at the first call `match` accepts. */
function pausedBackup(ctx: Ctx, match: (op: Op, key: string) => boolean, image: Buffer, options: { parent?: Backed; changed?: number[] } = {}) {
  const store = new PausingStore(ctx.memory);
  const gate = store.pauseBefore(match);
  const done = backup(ctx, 'vol-a', image, { ...options, repo: viaStore(ctx.repo, store) });
  return { gate, done };
}

describe('a backup and a prune at the same time', () => {
  it('a backup that dedups into packs prune marks mid-backup: the sweep waits for its lease, then nothing is lost', async () => {
    const ctx = await newCtx();
    const data = prng('shared', 768 * 1024);
    const { a2, a1Packs } = await withForgottenPoint(ctx, data);
    // Hold the backup after it loaded its index and matched every chunk, before its commit-time marker check.
    const b = pausedBackup(ctx, nth(2, isList(MARKERS_PREFIX)), data);
    await b.gate.reached;
    const mark = await prune(ctx.repo);
    assert.equal(mark.markedPacks, a1Packs.size, 'prune marks the packs of the forgotten point');
    ctx.clock.advance(MARGIN + MINUTE);
    await refreshLeases(ctx.memory);
    const waiting = await prune(ctx.repo);
    assert.deepEqual([waiting.deletedPacks, waiting.waitingMarks], [0, 1], 'the sweep ran under a live lease');
    for (const p of a1Packs) assert.ok((await packIds(ctx.memory)).has(p));
    b.gate.open();
    const done = await b.done;
    assert.ok(done.manifest.stats.packsWritten >= 1, 'the commit copied nothing out of the marked packs');
    assert.equal((await listAll(ctx.memory, SESSIONS_PREFIX)).length, 0, 'the lease was not released');
    const expected = new Map([[a2.manifest.id, a2.image], [done.manifest.id, data]]);
    await assertPoints(ctx.repo, expected, 'after the backup');
    // Released and past the margin: the marked packs go, the new point keeps its own copies.
    const sweep = await prune(ctx.repo);
    assert.equal(sweep.deletedPacks, a1Packs.size);
    for (const p of a1Packs) assert.ok(!(await packIds(ctx.memory)).has(p), 'a marked pack survived');
    await assertVerifyClean(ctx.repo, 'after the sweep');
    await assertPoints(ctx.repo, expected, 'after the sweep');
  });

  it('a backup of new data holds the sweep of unrelated marked packs until its lease is released', async () => {
    const ctx = await newCtx();
    const { a2, a1Packs } = await withForgottenPoint(ctx, prng('old', 512 * 1024));
    const image = prng('new', 640 * 1024);
    const b = pausedBackup(ctx, isPut(PACKS_PREFIX), image);
    await b.gate.reached;
    assert.equal((await prune(ctx.repo)).markedPacks, a1Packs.size);
    for (let i = 0; i < 3; i++) {
      ctx.clock.advance(MARGIN + MINUTE);
      await refreshLeases(ctx.memory);
      assert.equal((await prune(ctx.repo)).deletedPacks, 0, `sweep ${i} deleted under a live lease`);
    }
    b.gate.open();
    const done = await b.done;
    const sweep = await prune(ctx.repo);
    assert.equal(sweep.deletedPacks, a1Packs.size, 'released and past the margin, the marked packs go');
    await assertVerifyClean(ctx.repo);
    await assertPoints(ctx.repo, new Map([[a2.manifest.id, a2.image], [done.manifest.id, image]]));
  });

  it('a sweep that read the restore points before a deduping backup committed, and the leases after it ended', async () => {
    const ctx = await newCtx();
    const data = prng('shared', 768 * 1024);
    const { a2, a1Packs } = await withForgottenPoint(ctx, data);
    const b = pausedBackup(ctx, nth(2, isList(MARKERS_PREFIX)), data);
    await b.gate.reached;
    assert.equal((await prune(ctx.repo)).markedPacks, a1Packs.size);
    ctx.clock.advance(MARGIN + MINUTE);
    await refreshLeases(ctx.memory);
    const sweepStore = new PausingStore(ctx.memory);
    const sweepGate = sweepStore.pauseBefore(isList(SESSIONS_PREFIX));
    const sweep = prune(viaStore(ctx.repo, sweepStore));
    await sweepGate.reached;
    b.gate.open();
    const done = await b.done;
    sweepGate.open();
    assert.equal((await sweep).deletedPacks, a1Packs.size, 'the sweep saw no live lease');
    await assertVerifyClean(ctx.repo);
    await assertPoints(ctx.repo, new Map([[a2.manifest.id, a2.image], [done.manifest.id, data]]));
  });

  it('the same window with an incremental whose parent another backup of the resource replaced and forget removed', async () => {
    const ctx = await newCtx();
    const p1 = prng('p1', 1024 * 1024);
    const b1 = await backup(ctx, 'vol-a', p1);
    ctx.clock.advance(MARGIN + MINUTE);
    // Two backups of vol-a from the same parent: b changes block 0, b2 blocks 8..15.
    const mine = replaceBlocks(p1, [0], 'mine');
    const b = pausedBackup(ctx, isPut(PACKS_PREFIX), mine.image, { parent: b1, changed: mine.changed });
    await b.gate.reached;
    const theirs = replaceBlocks(p1, [8, 9, 10, 11, 12, 13, 14, 15], 'theirs');
    const b2 = await backup(ctx, 'vol-a', theirs.image, { parent: b1, changed: theirs.changed });
    assert.deepEqual((await forgetPoints(ctx.repo, { keepLast: 1 })).flatMap((d) => d.remove), [b1.manifest.id]);
    // b1's packs of blocks 8..15 are now used only by the paused backup's unchanged blocks.
    assert.ok((await prune(ctx.repo)).markedPacks >= 1);
    ctx.clock.advance(MARGIN + MINUTE);
    await refreshLeases(ctx.memory);
    const sweepStore = new PausingStore(ctx.memory);
    const sweepGate = sweepStore.pauseBefore(isList(SESSIONS_PREFIX));
    const sweep = prune(viaStore(ctx.repo, sweepStore));
    await sweepGate.reached;
    b.gate.open();
    const done = await b.done;
    sweepGate.open();
    assert.ok((await sweep).deletedPacks >= 1);
    await assertVerifyClean(ctx.repo);
    await assertPoints(ctx.repo, new Map([[b2.manifest.id, theirs.image], [done.manifest.id, mine.image]]));
  });
});

describe('a random mix of backups and prunes', () => {
  it('several backups and prunes with clock advances under Promise.all lose nothing', async () => {
    const ctx = await newCtx();
    const store = new PausingStore(ctx.memory, { jitter: 'mix' });
    const repo = viaStore(ctx.repo, store);
    const advance = async (ms: number) => {
      ctx.clock.advance(ms);
      await refreshLeases(ctx.memory);
    };
    const expected = new Map<string, Buffer>();
    const last = new Map<string, Backed>();
    const history: Buffer[] = [];
    const run = async (res: string, round: number, k: number) => {
      const parent = last.get(res);
      let image: Buffer;
      let changed: number[] | undefined;
      if (parent && (round + k) % 3 !== 0) ({ image, changed } = replaceBlocks(parent.image, [(round * 3 + k) % 4, 4 + ((round + k) % 4)], `${res}/${round}/${k}`));
      else image = history.length > 0 && round % 2 === 1 ? history[(round + k) % history.length] : prng(`${res}/${round}/${k}`, 512 * 1024 + 4096 * k);
      const b = await backup({ ...ctx, repo }, res, image, changed ? { parent, changed } : {});
      expected.set(b.manifest.id, image);
      history.push(image);
      if (!last.has(res) || last.get(res)!.manifest.finishedAt <= b.manifest.finishedAt) last.set(res, b);
    };
    for (let round = 0; round < 5; round++) {
      await Promise.all([
        run('vol-0', round, 0),
        run('vol-0', round, 1),
        run('vol-1', round, 2),
        run('vol-2', round, 3),
        (async () => {
          await forgetPoints(repo, { keepLast: 1 });
          await prune(repo);
          await advance(MARGIN + MINUTE);
          await prune(repo);
        })(),
        (async () => {
          await advance(MINUTE);
          await prune(repo);
        })(),
      ]);
    }
    for (let i = 0; i < 3; i++) {
      await advance(MARGIN + MINUTE);
      await prune(ctx.repo);
    }
    const ids = await ctx.repo.listPointIds();
    assert.ok(ids.length >= 3, `only ${ids.length} points left`);
    await assertVerifyClean(ctx.repo, 'after the mix');
    await assertPoints(ctx.repo, new Map(ids.map((id) => [id, expected.get(id)!])), 'after the mix');
  });
});
