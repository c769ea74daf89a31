// A restore point's storage state: its retention lock, and how many of its packs sit in an archive tier.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../../core/clock.ts';
import { backupResource } from '../../core/engine/backup.ts';
import { pointStorage } from '../../core/engine/point-storage.ts';
import { MemoryObjectStore } from '../../providers/memory/memory-object-store.ts';
import { BufferSnapshotSource } from '../support/buffer-volume.ts';
import { mixedImage } from '../support/images.ts';
import { LockingObjectStore } from '../support/locking-object-store.ts';
import { makeRepo } from '../support/repo-fixture.ts';
import { TieringMemoryStore } from '../support/tiering-memory-store.ts';

const DAY = 86_400_000;

async function pointIn(store: MemoryObjectStore | LockingObjectStore | TieringMemoryStore, clock: ManualClock) {
  const ctx = await makeRepo({ store, clock });
  const source = new BufferSnapshotSource(64 * 1024);
  const resource = { id: 'vol-1', kind: 'volume' as const, provider: 'local' };
  const point = await backupResource({ repo: ctx.repo, index: await ctx.repo.loadIndex(), source, processor: ctx.processor }, { resource, disks: [{ name: 'root', snapshot: source.snapshot('vol-1', mixedImage('storage', 900 * 1024)) }] });
  return { ...ctx, point, index: await ctx.repo.loadIndexForRestore() };
}

describe('pointStorage', () => {
  it('is neither locked nor tiered on a plain store', async () => {
    const clock = new ManualClock();
    const { repo, index, point } = await pointIn(new MemoryObjectStore({ clock }), clock);
    assert.deepEqual(await pointStorage(repo, index, point), { lockedUntil: null, tiers: null });
  });

  it("reports the manifest's retain-until on a store with Object Lock", async () => {
    const clock = new ManualClock(Date.UTC(2026, 10, 1));
    const { repo, index, point } = await pointIn(new LockingObjectStore({ clock, days: 30 }), clock);
    const storage = await pointStorage(repo, index, point);
    assert.equal(storage.lockedUntil, Date.UTC(2026, 10, 1) + 30 * DAY);
    assert.equal(storage.tiers, null);
  });

  it('counts archived and rehydrating packs; with archived tree packs only those are counted', async () => {
    const clock = new ManualClock();
    const tiered = new TieringMemoryStore(new MemoryObjectStore({ clock }), clock);
    const { repo, index, point } = await pointIn(tiered, clock);
    const hot = await pointStorage(repo, index, point);
    assert.ok(hot.tiers && hot.tiers.complete && hot.tiers.packs >= 2 && hot.tiers.archived === 0, JSON.stringify(hot));
    const dataPacks = await tiered.archiveKind('pack');
    const cold = await pointStorage(repo, index, point);
    assert.deepEqual(cold.tiers, { packs: hot.tiers.packs, archived: dataPacks, rehydrating: 0, complete: true });
    await tiered.archiveKind('tree-pack');
    const frozen = await pointStorage(repo, index, point);
    assert.equal(frozen.tiers?.complete, false, 'the block maps cannot be read: only the tree packs are counted');
    assert.ok(frozen.tiers && frozen.tiers.archived === frozen.tiers.packs && frozen.tiers.packs < hot.tiers.packs);
  });
});
