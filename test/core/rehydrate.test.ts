// Restoring from archived packs: fail fast without rehydration, rehydratePoint's request/poll loop, prune's earlyDeletes.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rehydratePoint, RehydrateTimeoutError, type RehydrateProgress } from '../../core/engine/rehydrate.ts';
import { earlyDeletes } from '../../core/maintenance/early-deletes.ts';
import { pruneRepository } from '../../core/maintenance/prune.ts';
import { PACKS_PREFIX, packIdFromKey } from '../../core/repo/layout.ts';
import { isObjectTiering, listAll, ObjectArchivedError } from '../../core/store/object-store.ts';
import { RetryingObjectStore } from '../../core/store/retrying-object-store.ts';
import { MemoryObjectStore } from '../../providers/memory/memory-object-store.ts';
import { prng } from '../support/images.ts';
import { backup, newCtx, restoreBytes } from '../support/repo-scenarios.ts';
import { TieringMemoryStore } from '../support/tiering-memory-store.ts';

const HOUR = 60 * 60 * 1000;
const DAY = 24 * HOUR;

async function archivedPoint() {
  const ctx = await newCtx((inner) => new TieringMemoryStore(inner));
  const tiered = ctx.store;
  tiered.clock = ctx.clock;
  const image = prng('archived', 20 * 64 * 1024);
  const b = await backup(ctx, 'vol-a', image);
  const packs = await tiered.archive(PACKS_PREFIX);
  assert.ok(packs >= 2, `expected several packs, got ${packs}`);
  return { ctx, tiered, image, b, packs };
}

describe('rehydration of archived restore points', () => {
  it('a restore of an archived point fails fast with ObjectArchivedError naming a pack', async () => {
    const { ctx, b } = await archivedPoint();
    const err = await restoreBytes(ctx.repo, b.manifest.id).then(() => null, (e: unknown) => e);
    assert.ok(err instanceof ObjectArchivedError, `got ${String(err)}`);
    assert.match(err.key, /^packs\//);
    assert.equal(err.retryable, false);
  });

  it('requests every needed pack, polls on the clock with progress, and the restore then succeeds', async () => {
    const { ctx, tiered, image, b, packs } = await archivedPoint();
    const events: RehydrateProgress[] = [];
    let sleeps = 0;
    const index = await ctx.repo.loadIndex();
    const result = await rehydratePoint(ctx.repo, index, b.manifest, {
      days: 3,
      priority: 'bulk',
      pollMs: HOUR,
      onProgress: (p) => events.push({ ...p }),
      sleep: async (ms) => {
        sleeps++;
        ctx.clock.advance(ms);
      },
    });
    assert.equal(result.packsNeeded, packs);
    assert.equal(result.packsArchived, packs);
    assert.equal(result.requested, packs, 'each pack asked once');
    assert.deepEqual(new Set(tiered.requests.map((r) => `${r.days}/${r.priority}`)), new Set(['3/bulk']));
    assert.equal(sleeps, 8, 'two 4-hour waits: trees, then data');
    assert.equal(result.waitedMs, 8 * HOUR);
    assert.deepEqual(events[0], { phase: 'trees', ready: 0, needed: events[0].needed, requested: events[0].needed });
    const last = events.at(-1)!;
    assert.deepEqual(last, { phase: 'data', ready: packs, needed: packs, requested: packs });
    for (let i = 1; i < events.length; i++) assert.ok(events[i].ready >= events[i - 1].ready, 'progress never goes back');
    assert.ok((await restoreBytes(ctx.repo, b.manifest.id)).equals(image));
  });

  it('gives up after the timeout, naming what is still archived; requests stay made', async () => {
    const { ctx, tiered, b } = await archivedPoint();
    tiered.rehydrateMs = 100 * HOUR;
    const run = rehydratePoint(ctx.repo, await ctx.repo.loadIndex(), b.manifest, { days: 1, priority: 'standard', pollMs: HOUR, timeoutMs: 5 * HOUR, sleep: async (ms) => ctx.clock.advance(ms) });
    await assert.rejects(run, (err: unknown) => err instanceof RehydrateTimeoutError && /still archived after 300 minutes \(first packs\//.test(err.message));
    assert.ok(tiered.requests.length > 0);
  });

  it('is passed through RetryingObjectStore, which reports no tiers for a store without them', () => {
    const tiered = new TieringMemoryStore(new MemoryObjectStore());
    assert.equal(isObjectTiering(new RetryingObjectStore(tiered)), true);
    assert.equal(isObjectTiering(new RetryingObjectStore(new MemoryObjectStore())), false);
    assert.equal(isObjectTiering(new MemoryObjectStore()), false);
  });

  it('prune deletes unreferenced cold packs as usual and reports the early-deletion days', async () => {
    const { ctx, tiered, b } = await archivedPoint();
    const before = await listAll(ctx.store, PACKS_PREFIX);
    const infos = new Map(before.map((i) => [packIdFromKey(i.key), i]));
    ctx.clock.advance(10 * DAY);
    const early = await earlyDeletes(tiered, infos.keys(), infos, ctx.clock.now());
    assert.equal(early.length, before.length);
    assert.deepEqual({ tier: early[0].tier, ageDays: early[0].ageDays, chargedDays: early[0].chargedDays }, { tier: 'GLACIER', ageDays: 10, chargedDays: 80 });
    assert.deepEqual(await earlyDeletes(tiered, infos.keys(), infos, ctx.clock.now() + 80 * DAY), []);
    await ctx.repo.deleteManifest(b.manifest.id);
    const first = await pruneRepository(ctx.repo, { safetyMarginMs: HOUR });
    assert.equal(first.markedPacks, before.length);
    ctx.clock.advance(2 * HOUR);
    const second = await pruneRepository(ctx.repo, { safetyMarginMs: HOUR });
    assert.equal(second.deletedPacks, before.length);
    assert.equal(second.earlyDeletes.length, before.length);
    assert.ok(second.earlyDeletes.every((e) => e.chargedDays === 80 && e.tier === 'GLACIER'));
  });
  it('keeps block maps in hot tree packs: an incremental, verify and prune work while every data pack is archived', async () => {
    const ctx = await newCtx((inner) => new TieringMemoryStore(inner));
    const tiered = ctx.store;
    tiered.clock = ctx.clock;
    const image = prng('hot-trees', 40 * 64 * 1024);
    const full = await backup(ctx, 'vol-h', image);
    assert.ok([...tiered.kinds.values()].includes('tree-pack'), 'block maps were not written to tree packs');
    const archived = await tiered.archiveKind('pack');
    assert.ok(archived >= 1);
    const day2 = Buffer.from(image);
    prng('hot-trees-2', 64 * 1024).copy(day2, 5 * 64 * 1024);
    const incr = await backup(ctx, 'vol-h', day2, { parent: full, changed: [5] });
    assert.equal(incr.manifest.kind, 'incremental');
    const report = await pruneRepository(ctx.repo, { safetyMarginMs: 1 });
    assert.equal(report.deletedPacks, 0);
    await assert.rejects(restoreBytes(ctx.repo, incr.manifest.id), ObjectArchivedError, 'restoring archived data without rehydration must fail, not return zeros');
  });
});
