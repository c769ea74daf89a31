// Immutable repositories: prune never deletes a locked object, and keeps every object retained points need locked.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../core/clock.ts';
import { forgetPoints } from '../../core/maintenance/forget.ts';
import { pruneRepository } from '../../core/maintenance/prune.ts';
import { CONFIG_KEY, KEYS_PREFIX, packKey, pointKey, PACKS_PREFIX, packIdFromKey } from '../../core/repo/layout.ts';
import type { Repository } from '../../core/repo/repository.ts';
import { listAll, UnsupportedOperationError } from '../../core/store/object-store.ts';
import { MemoryObjectStore } from '../../providers/memory/memory-object-store.ts';
import { BufferSnapshotSource } from '../support/buffer-volume.ts';
import { prng } from '../support/images.ts';
import { LockingObjectStore } from '../support/locking-object-store.ts';
import { makeRepo } from '../support/repo-fixture.ts';
import { assertPoints, assertVerifyClean, backup, BS, MARGIN, MINUTE, packIds, referencedPacks, replaceBlocks, restoreBytes, type Backed } from '../support/repo-scenarios.ts';

const DAY = 86_400_000;
const LOCK_DAYS = 10;

async function lockedCtx() {
  const clock = new ManualClock();
  const store = new LockingObjectStore({ clock, days: LOCK_DAYS });
  const { repo, processor } = await makeRepo({ store, clock });
  return { repo, store, clock, processor, source: new BufferSnapshotSource(BS) };
}

const prune = (repo: Repository, extra: { dryRun?: boolean } = {}) => pruneRepository(repo, { safetyMarginMs: MARGIN, lock: { days: LOCK_DAYS }, ...extra });

/** Every object the retained points need, computed without the code under test. */
async function neededObjects(repo: Repository): Promise<string[]> {
  const packs = await referencedPacks(repo);
  const index = await repo.loadIndex();
  const indexes = [...index.objects].filter(([, named]) => [...named].some((p) => packs.has(p))).map(([k]) => k);
  const keys = (await listAll(repo.store, KEYS_PREFIX)).map((i) => i.key);
  return [CONFIG_KEY, ...keys, ...(await repo.listPointIds()).map(pointKey), ...[...packs].map(packKey), ...indexes];
}

describe('immutable repository', () => {
  it('never deletes a locked pack: waits, then deletes once the lock lapsed and the margin passed', async () => {
    const ctx = await lockedCtx();
    const a1 = await backup(ctx, 'vol-a', prng('a1', 512 * 1024));
    const a1Packs = await packIds(ctx.store);
    ctx.clock.advance(MINUTE);
    const a2 = await backup(ctx, 'vol-a', prng('a2', 512 * 1024));
    await forgetPoints(ctx.repo, { keepLast: 1 });
    assert.deepEqual(await ctx.repo.listPointIds(), [a2.manifest.id], 'the forgotten point is hidden although its manifest is locked');
    assert.ok(await ctx.store.stat(pointKey(a1.manifest.id)), 'the locked manifest is still there');

    ctx.clock.advance(MARGIN + MINUTE);
    const mark = await prune(ctx.repo);
    assert.equal(mark.markedPacks, a1Packs.size);
    ctx.clock.advance(MARGIN + MINUTE);
    const wait = await prune(ctx.repo);
    assert.deepEqual([wait.deletedPacks, wait.waitingForLock, wait.heldPoints], [0, a1Packs.size, 1]);
    for (const p of a1Packs) assert.ok((await packIds(ctx.store)).has(p), `locked pack ${p} deleted`);
    assert.deepEqual(ctx.store.refused, [], 'prune tried to delete a locked object');

    ctx.clock.advance(LOCK_DAYS * DAY - 4 * MARGIN);
    assert.equal((await prune(ctx.repo)).deletedPacks, 0, 'deleted before the lock lapsed');
    ctx.clock.advance(4 * MARGIN);
    const done = await prune(ctx.repo);
    assert.equal(done.deletedPacks, a1Packs.size, 'the lock lapsed and the carried marker is long past the margin');
    assert.equal(done.heldPoints, 0);
    const left = await packIds(ctx.store);
    for (const p of a1Packs) assert.ok(!left.has(p), `pack ${p} of the forgotten point survived`);
    await assert.rejects(ctx.store.stat(pointKey(a1.manifest.id)), /not found/);
    assert.deepEqual(ctx.store.refused, []);
    await assertPoints(ctx.repo, new Map([[a2.manifest.id, a2.image]]));
    await assertVerifyClean(ctx.repo);
  });

  it('keeps a long chain locked for its whole retention; forgotten points lapse and go', async () => {
    const ctx = await lockedCtx();
    let image = prng('full', 8 * BS);
    let prev: Backed = await backup(ctx, 'vol', image);
    const unreferencedSince = new Map<string, number>();
    let extended = 0;
    for (let day = 1; day <= 75; day++) {
      ctx.clock.advance(DAY);
      // The worst moment: a full day after the last prune, before this day's backup and prune.
      for (const key of await neededObjects(ctx.repo)) {
        const until = ctx.store.retainUntil(key);
        assert.ok(until !== undefined && until >= ctx.clock.now() + DAY, `day ${day}: ${key} needed but locked only until ${until}`);
      }
      const next = replaceBlocks(image, [day % 8], `day${day}`);
      prev = await backup(ctx, 'vol', next.image, { parent: prev, changed: next.changed });
      image = next.image;
      await forgetPoints(ctx.repo, { keepLast: 20 });
      const report = await prune(ctx.repo);
      extended += report.locks?.extendedLocks ?? 0;
      assert.deepEqual(ctx.store.refused, [], `day ${day}: a locked object was deleted`);
      const referenced = await referencedPacks(ctx.repo);
      for (const info of await listAll(ctx.store, PACKS_PREFIX)) {
        const id = packIdFromKey(info.key);
        if (referenced.has(id)) unreferencedSince.delete(id);
        else if (!unreferencedSince.has(id)) unreferencedSince.set(id, day);
        const since = unreferencedSince.get(id);
        if (since !== undefined) assert.ok(day - since <= LOCK_DAYS + 2, `day ${day}: pack ${id} unreferenced since day ${since} still kept`);
      }
    }
    assert.ok(extended > 0, 'no lock was ever extended');
    assert.equal((await ctx.repo.listPointIds()).length, 20);
    assert.ok((await restoreBytes(ctx.repo, prev.manifest.id)).equals(image), 'the newest point of the chain restores');
    await assertVerifyClean(ctx.repo);
  });

  it('a dry run extends nothing; a store without locks fails clearly', async () => {
    const ctx = await lockedCtx();
    await backup(ctx, 'vol', prng('x', 2 * BS));
    ctx.clock.advance(LOCK_DAYS * DAY * 0.75);
    const dry = await prune(ctx.repo, { dryRun: true });
    assert.ok((dry.locks?.extendedLocks ?? 0) > 0);
    assert.deepEqual(ctx.store.extensions, []);
    const wet = await prune(ctx.repo);
    assert.equal(wet.locks?.extendedLocks, dry.locks?.extendedLocks);
    assert.equal(ctx.store.extensions.length, wet.locks?.extendedLocks);

    const plainClock = new ManualClock();
    const plain = await makeRepo({ store: new MemoryObjectStore({ clock: plainClock }), clock: plainClock });
    await assert.rejects(pruneRepository(plain.repo, { lock: { days: 7 } }), UnsupportedOperationError);
  });
});
