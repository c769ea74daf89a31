// Backups and prunes at the same time lose nothing: chosen interleavings held open by a pausing store, then a random mix.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { forgetPoints } from '../../core/maintenance/forget.ts';
import { pruneRepository } from '../../core/maintenance/prune.ts';
import { MARKERS_PREFIX, PACKS_PREFIX, SESSIONS_PREFIX } from '../../core/repo/layout.ts';
import { markedPacks } from '../../core/repo/markers.ts';
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
  referencedPacks,
  refreshLeases,
  replaceBlocks,
  restoreBytes,
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

/**
 * Past the margin, a sweep runs held at its listing of `at`; the held backup is let go and commits;
 * then the sweep goes on. Nothing may be lost, and later prunes must still remove every marked pack.
 */
async function sweepRace(ctx: Ctx, at: string, backupGate: { open(): void }, finish: () => Promise<string>, others: Map<string, Buffer>, image: Buffer) {
  const marked = await markedPacks(ctx.repo);
  ctx.clock.advance(MARGIN + MINUTE);
  await refreshLeases(ctx.memory);
  const store = new PausingStore(ctx.memory);
  const gate = store.pauseBefore(isList(at));
  const sweep = prune(viaStore(ctx.repo, store));
  await gate.reached;
  backupGate.open();
  const id = await finish();
  gate.open();
  await sweep;
  const expected = new Map([...others, [id, image]]);
  await assertVerifyClean(ctx.repo, `held at ${at}`);
  await assertPoints(ctx.repo, expected, `held at ${at}`);
  for (let i = 0; i < 2; i++) {
    ctx.clock.advance(MARGIN + MINUTE);
    await prune(ctx.repo);
  }
  const left = await packIds(ctx.memory);
  assert.deepEqual([...marked].filter((p) => left.has(p)), [], `held at ${at}: marked packs never deleted`);
  await assertVerifyClean(ctx.repo, `held at ${at}, later`);
  await assertPoints(ctx.repo, expected, `held at ${at}, later`);
}

describe('a backup and a prune at the same time', { timeout: 60_000 }, () => {
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

  // A sweep held at each of its listings while a backup that relies on marked packs commits and ends.
  for (const at of [SESSIONS_PREFIX, MARKERS_PREFIX, 'points/', 'index/', PACKS_PREFIX]) {
    it(`a deduping backup commits while the sweep is held at its listing of ${at}`, async () => {
      const ctx = await newCtx();
      const data = prng('shared', 768 * 1024);
      const { a2 } = await withForgottenPoint(ctx, data);
      const b = pausedBackup(ctx, nth(2, isList(MARKERS_PREFIX)), data);
      await b.gate.reached;
      assert.ok((await prune(ctx.repo)).markedPacks >= 1);
      await sweepRace(ctx, at, b.gate, async () => (await b.done).manifest.id, new Map([[a2.manifest.id, a2.image]]), data);
    });

    it(`an incremental whose parent was replaced and forgotten commits while the sweep is held at ${at}`, async () => {
      const ctx = await newCtx();
      const p1 = prng('p1', 1024 * 1024);
      const b1 = await backup(ctx, 'vol-a', p1);
      ctx.clock.advance(MARGIN + MINUTE);
      // Two backups of vol-a from the same parent: the held one changes block 0, the other blocks 8..15,
      // so b1's packs of blocks 8..15 end up used only by the held backup's unchanged blocks.
      const mine = replaceBlocks(p1, [0], 'mine');
      const b = pausedBackup(ctx, isPut(PACKS_PREFIX), mine.image, { parent: b1, changed: mine.changed });
      await b.gate.reached;
      const theirs = replaceBlocks(p1, [8, 9, 10, 11, 12, 13, 14, 15], 'theirs');
      const b2 = await backup(ctx, 'vol-a', theirs.image, { parent: b1, changed: theirs.changed });
      assert.deepEqual((await forgetPoints(ctx.repo, { keepLast: 1 })).flatMap((d) => d.remove), [b1.manifest.id]);
      assert.ok((await prune(ctx.repo)).markedPacks >= 1);
      await sweepRace(ctx, at, b.gate, async () => (await b.done).manifest.id, new Map([[b2.manifest.id, theirs.image]]), mine.image);
    });
  }

  it('a backup committing between the reads of a prune does not make it report damage', async () => {
    const ctx = await newCtx();
    const { a2 } = await withForgottenPoint(ctx, prng('old', 256 * 1024));
    const image = prng('new', 384 * 1024);
    // Hold the prune at its listing of restore points, let a whole backup commit, then let it go on.
    const store = new PausingStore(ctx.memory);
    const gate = store.pauseBefore(isList('points/'));
    const run = prune(viaStore(ctx.repo, store));
    await gate.reached;
    const done = await backup(ctx, 'vol-b', image);
    gate.open();
    await run;
    await assertVerifyClean(ctx.repo);
    await assertPoints(ctx.repo, new Map([[a2.manifest.id, a2.image], [done.manifest.id, image]]));
  });
});

describe('readers racing a sweep that replaces an index object', { timeout: 60_000 }, () => {
  /** p1 then p2 (blocks 8..15 changed) of vol-a; p1 forgotten and marked; the next prune rewrites p1's index. */
  async function sweepDue(ctx: Ctx) {
    const p1 = prng('p1', 1024 * 1024);
    const b1 = await backup(ctx, 'vol-a', p1);
    const [i1] = (await listAll(ctx.memory, 'index/')).map((i) => i.key);
    ctx.clock.advance(MINUTE);
    const p2 = replaceBlocks(p1, [8, 9, 10, 11, 12, 13, 14, 15], 'p2');
    const b2 = await backup(ctx, 'vol-a', p2.image, { parent: b1, changed: p2.changed });
    await forgetPoints(ctx.repo, { keepLast: 1 });
    ctx.clock.advance(MARGIN + MINUTE);
    assert.ok((await prune(ctx.repo)).markedPacks >= 1);
    ctx.clock.advance(MARGIN + MINUTE);
    // The reader is held at its read of p1's index object, which the sweep replaces.
    return { b2, p2, isIndexGet: (op: Op, key: string) => op === 'get' && key === i1 };
  }

  it('a backup that listed the index objects before the rewrite still loads its index', async () => {
    const ctx = await newCtx();
    const { b2, p2, isIndexGet } = await sweepDue(ctx);
    const image = prng('new', 384 * 1024);
    const store = new PausingStore(ctx.memory);
    const gate = store.pauseBefore(isIndexGet);
    const run = backup(ctx, 'vol-b', image, { repo: viaStore(ctx.repo, store) });
    await gate.reached;
    assert.equal((await prune(ctx.repo)).rewrittenIndexes, 1);
    gate.open();
    const done = await run;
    await assertVerifyClean(ctx.repo);
    await assertPoints(ctx.repo, new Map([[b2.manifest.id, p2.image], [done.manifest.id, image]]));
  });

  it('a restore that listed the index objects before the rewrite still restores', async () => {
    const ctx = await newCtx();
    const { b2, p2, isIndexGet } = await sweepDue(ctx);
    const store = new PausingStore(ctx.memory);
    const gate = store.pauseBefore(isIndexGet);
    const run = restoreBytes(viaStore(ctx.repo, store), b2.manifest.id);
    await gate.reached;
    assert.equal((await prune(ctx.repo)).rewrittenIndexes, 1);
    gate.open();
    assert.ok((await run).equals(p2.image));
  });

  it('a forget deleting a point while a prune reads the points does not stop the prune', async () => {
    const ctx = await newCtx();
    const { b2 } = await sweepDue(ctx);
    ctx.clock.advance(MINUTE);
    const b3 = await backup(ctx, 'vol-a', prng('p3', 256 * 1024));
    const store = new PausingStore(ctx.memory);
    const gate = store.pauseBefore((op, key) => op === 'get' && key === `points/${b2.manifest.id}`);
    const run = prune(viaStore(ctx.repo, store));
    await gate.reached;
    await forgetPoints(ctx.repo, { keepLast: 1 });
    gate.open();
    await run;
    await assertVerifyClean(ctx.repo);
    await assertPoints(ctx.repo, new Map([[b3.manifest.id, b3.image]]));
  });
});

describe('a random mix of backups and prunes', { timeout: 60_000 }, () => {
  it('several backups and prunes with clock advances under Promise.all lose nothing', async () => {
    const ctx = await newCtx();
    const store = new PausingStore(ctx.memory, { jitter: 'mix' });
    const repo = viaStore(ctx.repo, store);
    const advance = async (ms: number) => {
      ctx.clock.advance(ms);
      await refreshLeases(ctx.memory);
    };
    const totals = { markedPacks: 0, deletedPacks: 0, revivedPacks: 0 };
    const counted = async (r: Repository) => {
      const report = await prune(r);
      for (const k of Object.keys(totals) as Array<keyof typeof totals>) totals[k] += report[k];
    };
    const expected = new Map<string, Buffer>();
    const last = new Map<string, Backed>();
    const history: Buffer[] = [];
    const run = async (res: string, round: number, k: number) => {
      const parent = last.get(res);
      let image: Buffer;
      let changed: number[] | undefined;
      if (parent && (round + k) % 3 !== 0) ({ image, changed } = replaceBlocks(parent.image, [(round * 3 + k) % 4, 4 + ((round + k) % 4)], `${res}/${round}/${k}`));
      // Some full backups repeat older data, so they dedup into packs prune may be marking.
      else image = history.length > 0 && round % 2 === 1 ? history[(round + k) % history.length] : prng(`${res}/${round}/${k}`, 512 * 1024 + 4096 * k);
      const b = await backup({ ...ctx, repo }, res, image, changed ? { parent, changed } : {});
      expected.set(b.manifest.id, image);
      history.push(image);
      if (!last.has(res) || last.get(res)!.manifest.finishedAt <= b.manifest.finishedAt) last.set(res, b);
    };
    // One prune at a time (the format makes no claim for concurrent prunes), many backups beside it.
    for (let round = 0; round < 6; round++) {
      await Promise.all([
        run('vol-0', round, 0),
        run('vol-0', round, 1),
        run('vol-1', round, 2),
        run('vol-2', round, 3),
        (async () => {
          await forgetPoints(repo, { keepLast: 2 });
          await counted(repo);
          await advance(MARGIN + MINUTE);
          await counted(repo);
          await advance(MINUTE);
          await counted(repo);
        })(),
      ]);
    }
    for (let i = 0; i < 3; i++) {
      await advance(MARGIN + MINUTE);
      await counted(ctx.repo);
    }
    const ids = await ctx.repo.listPointIds();
    assert.ok(ids.length >= 6, `only ${ids.length} points left`);
    assert.ok(totals.markedPacks > 0 && totals.deletedPacks > 0, `the prunes did nothing: ${JSON.stringify(totals)}`);
    assert.deepEqual([...(await packIds(ctx.memory))].sort(), [...(await referencedPacks(ctx.repo))].sort(), 'unreferenced packs left');
    await assertVerifyClean(ctx.repo, 'after the mix');
    await assertPoints(ctx.repo, new Map(ids.map((id) => [id, expected.get(id)!])), 'after the mix');
  });
});
