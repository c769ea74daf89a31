// Damaged objects: verify names the damaged key, restore fails naming it (or is exact), never returns wrong data.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CorruptObjectError, WrongKeyError } from '../../core/errors.ts';
import { CHUNK_KIND } from '../../core/repo/block-codec.ts';
import { ChunkIndex } from '../../core/repo/index-file.ts';
import { CONFIG_KEY, INDEX_PREFIX, KEYS_PREFIX, packIdFromKey, packKey, PACKS_PREFIX, pointKey } from '../../core/repo/layout.ts';
import { collectReferences } from '../../core/maintenance/referenced.ts';
import { verifyRepository } from '../../core/maintenance/verify.ts';
import { listAll, ObjectNotFoundError, StoreError } from '../../core/store/object-store.ts';
import { mixedImage } from '../support/images.ts';
import { backup, newCtx, packIds, processorFor, referencedPacks, reopen, restoreBytes, type Ctx } from '../support/repo-scenarios.ts';

const image = mixedImage('corruption', 1536 * 1024 + 999);

async function committed() {
  const ctx = await newCtx();
  const b = await backup(ctx, 'vol-1', image);
  assert.ok(b.manifest.stats.packsWritten >= 2, `only ${b.manifest.stats.packsWritten} packs`);
  return { ctx, id: b.manifest.id };
}

async function firstKey(ctx: Ctx, prefix: string): Promise<string> {
  const keys = (await listAll(ctx.memory, prefix)).map((i) => i.key).sort();
  assert.ok(keys.length > 0, `no object under ${prefix}`);
  return keys[0];
}

/** The pack holding the block-map tree, or one holding only data chunks. */
async function packHolding(ctx: Ctx, which: 'tree' | 'data'): Promise<string> {
  const byPack = new Map<string, Set<number>>();
  for (const [, e] of (await ctx.repo.loadIndex()).entries()) byPack.set(e.pack.id, (byPack.get(e.pack.id) ?? new Set()).add(e.kind));
  const found = [...byPack].find(([, kinds]) => kinds.has(CHUNK_KIND.tree) === (which === 'tree'));
  assert.ok(found, `no pack with ${which} chunks only`);
  return packKey(found[0]);
}

/** Flips every bit of the middle byte; returns the offset. */
async function flipMiddle(ctx: Ctx, key: string): Promise<number> {
  const data = await ctx.memory.get(key);
  const at = Math.floor(data.length / 2);
  data[at] ^= 0xff;
  await ctx.memory.put(key, data);
  return at;
}

async function verifyProblems(ctx: Ctx): Promise<Array<{ key: string; problem: string }>> {
  const report = await verifyRepository(ctx.repo, ctx.processor, { full: true });
  assert.equal(report.ok, report.problems.length === 0);
  return report.problems;
}

async function assertVerifyNames(ctx: Ctx, key: string): Promise<void> {
  const problems = await verifyProblems(ctx);
  assert.ok(problems.some((p) => p.key === key), `verify does not name ${key}: ${JSON.stringify(problems)}`);
}

/** A new process opens the repository and restores: exact bytes, or an error naming `key`. */
async function restoreOutcome(ctx: Ctx, id: string, key: string): Promise<'exact' | 'refused'> {
  try {
    const repo = await reopen(ctx.memory, ctx.clock);
    const got = await restoreBytes(repo, id, processorFor(repo));
    assert.ok(got.equals(image), 'restore returned wrong data');
    return 'exact';
  } catch (err) {
    if (err instanceof assert.AssertionError) throw err;
    assert.ok(err instanceof CorruptObjectError, `expected CorruptObjectError, got ${String(err)}`);
    assert.equal(err.key, key);
    return 'refused';
  }
}

describe('one damaged object in a committed repository', () => {
  it('a flipped byte in a pack: verify names the pack, restore refuses', async () => {
    const { ctx, id } = await committed();
    const key = await firstKey(ctx, PACKS_PREFIX);
    const at = await flipMiddle(ctx, key);
    // The byte lies inside a chunk the restore point needs, so no restore may succeed.
    const index = await ctx.repo.loadIndex();
    const hit = [...index.entries()].find(([, e]) => e.pack.id === packIdFromKey(key) && e.offset <= at && at < e.offset + e.length);
    assert.ok(hit, 'the flipped byte is in no indexed chunk');
    const refs = await collectReferences(ctx.repo, index, await ctx.repo.listManifests());
    assert.ok(refs.chunks.has(ChunkIndex.keyOf(hit[0])) || refs.problems.some((p) => p.key === key), 'the damaged chunk is not used by the point');
    await assertVerifyNames(ctx, key);
    assert.equal(await restoreOutcome(ctx, id, key), 'refused');
  });

  it('a flipped byte in an index object', async () => {
    const { ctx, id } = await committed();
    const key = await firstKey(ctx, INDEX_PREFIX);
    await flipMiddle(ctx, key);
    await assertVerifyNames(ctx, key);
    assert.equal(await restoreOutcome(ctx, id, key), 'refused');
  });

  it('a flipped byte in a manifest', async () => {
    const { ctx, id } = await committed();
    const key = pointKey(id);
    await flipMiddle(ctx, key);
    await assertVerifyNames(ctx, key);
    assert.equal(await restoreOutcome(ctx, id, key), 'refused');
  });

  it('a flipped byte in the key object', async () => {
    const { ctx, id } = await committed();
    const key = await firstKey(ctx, KEYS_PREFIX);
    await flipMiddle(ctx, key);
    await assertVerifyNames(ctx, key);
    assert.equal(await restoreOutcome(ctx, id, key), 'refused');
  });

  it('a flipped byte in the config', async () => {
    const { ctx, id } = await committed();
    await flipMiddle(ctx, CONFIG_KEY);
    await assertVerifyNames(ctx, CONFIG_KEY);
    assert.equal(await restoreOutcome(ctx, id, CONFIG_KEY), 'refused');
  });

  it('an edited key-derivation parameter still valid as JSON: the key no longer opens (never a wrong key)', async () => {
    const { ctx, id } = await committed();
    const key = await firstKey(ctx, KEYS_PREFIX);
    const obj = JSON.parse((await ctx.memory.get(key)).toString('utf8'));
    obj.params.r += 1;
    await ctx.memory.put(key, Buffer.from(JSON.stringify(obj)));
    await assert.rejects(reopen(ctx.memory, ctx.clock), WrongKeyError);
    assert.ok((await restoreBytes(ctx.repo, id)).equals(image), 'the already-open repository is unaffected');
  });

  for (const which of ['tree', 'data'] as const) {
    it(`a truncated pack holding ${which} chunks: verify names it, restore refuses`, async () => {
      const { ctx, id } = await committed();
      const key = await packHolding(ctx, which);
      const data = await ctx.memory.get(key);
      await ctx.memory.put(key, data.subarray(0, Math.floor(data.length / 2)));
      const problems = await verifyProblems(ctx);
      assert.ok(problems.some((p) => p.key === key && /truncated/.test(p.problem)), JSON.stringify(problems));
      const repo = await reopen(ctx.memory, ctx.clock);
      // A ranged read past the end fails in the store (StoreError) or, on a short read, in authentication.
      await assert.rejects(restoreBytes(repo, id), (err) => (err instanceof StoreError || err instanceof CorruptObjectError) && err.key === key);
    });

    it(`a deleted pack holding ${which} chunks: verify names it as missing, restore refuses`, async () => {
      const { ctx, id } = await committed();
      const key = await packHolding(ctx, which);
      await ctx.memory.delete(key);
      const problems = await verifyProblems(ctx);
      assert.ok(problems.some((p) => p.key === key && /missing/.test(p.problem)), JSON.stringify(problems));
      const repo = await reopen(ctx.memory, ctx.clock);
      await assert.rejects(restoreBytes(repo, id), (err) => (err instanceof ObjectNotFoundError || err instanceof CorruptObjectError) && err.key === key);
    });
  }

  it('an index object moved to another name fails authentication under its new name', async () => {
    const { ctx, id } = await committed();
    const from = await firstKey(ctx, INDEX_PREFIX);
    const to = `${INDEX_PREFIX}${'0'.repeat(32)}`;
    await ctx.memory.put(to, await ctx.memory.get(from));
    await ctx.memory.delete(from);
    const problems = await verifyProblems(ctx);
    assert.ok(problems.some((p) => p.key === to && /authentication/.test(p.problem)), JSON.stringify(problems));
    assert.equal(await restoreOutcome(ctx, id, to), 'refused');
  });

  it('an undamaged repository verifies clean and restores (control)', async () => {
    const { ctx, id } = await committed();
    assert.deepEqual(await verifyProblems(ctx), []);
    assert.equal(await restoreOutcome(ctx, id, ''), 'exact');
  });
});

describe('verify --full checks the packs restore points use, and only those', () => {
  it('damage in a pack no point references (forgotten, not yet pruned) is not a finding; damage in a used one is', async () => {
    const ctx = await newCtx();
    const kept = await backup(ctx, 'vol-1', image);
    const gone = await backup(ctx, 'vol-2', mixedImage('corruption-other', 1536 * 1024 + 77));
    const before = await verifyRepository(ctx.repo, ctx.processor, { full: true });
    assert.deepEqual(before.problems, []);
    await ctx.repo.deleteManifest(gone.manifest.id);
    const used = await referencedPacks(ctx.repo);
    const unused = [...(await packIds(ctx.memory))].filter((p) => !used.has(p));
    assert.ok(unused.length > 0, 'the forgotten point left packs of its own');
    await flipMiddle(ctx, packKey(unused[0]));
    const all = await verifyRepository(ctx.repo, ctx.processor, { full: true });
    assert.deepEqual(all.problems, [], 'a pack only a forgotten point used is garbage for prune, not damage');
    const chosen = await verifyRepository(ctx.repo, ctx.processor, { full: true, points: [kept.manifest.id] });
    assert.equal(all.chunksChecked, chosen.chunksChecked, 'the same chunks checked with every point as with the only one left');
    assert.ok(all.chunksChecked > 0 && all.chunksChecked < before.chunksChecked);
    const damaged = packKey([...used][0]);
    await flipMiddle(ctx, damaged);
    await assertVerifyNames(ctx, damaged);
  });
});
