// Round trips of generated images through full backup, incremental and restore.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { backupResource } from '../../core/engine/backup.ts';
import { restoreDisk } from '../../core/engine/restore.ts';
import { BufferSink, BufferSnapshotSource } from '../support/buffer-volume.ts';
import { changeBlocks, mixedImage } from '../support/images.ts';
import { makeRepo } from '../support/repo-fixture.ts';

const resource = { id: 'vol-1', kind: 'volume' as const, provider: 'test' };

async function restoreBytes(ctx: Awaited<ReturnType<typeof makeRepo>>, pointId: string): Promise<Buffer> {
  const index = await ctx.repo.loadIndex();
  const manifest = await ctx.repo.readManifest(pointId);
  const sink = new BufferSink();
  await restoreDisk({ repo: ctx.repo, index, processor: ctx.processor }, manifest, 'root', sink);
  return sink.data;
}

describe('backup and restore round trips', () => {
  for (const size of [0, 1, 4095, 64 * 1024, 64 * 1024 + 17, 3 * 1024 * 1024 + 12345]) {
    it(`restores a ${size}-byte mixed image exactly`, async () => {
      const ctx = await makeRepo();
      const source = new BufferSnapshotSource(64 * 1024);
      const image = mixedImage(`size-${size}`, size);
      const snap = source.snapshot('vol-1', image);
      const index = await ctx.repo.loadIndex();
      const m = await backupResource({ repo: ctx.repo, index, source, processor: ctx.processor }, { resource, disks: [{ name: 'root', snapshot: snap }] });
      assert.equal(m.kind, 'full');
      assert.equal(m.disks[0].size, size);
      const restored = await restoreBytes(ctx, m.id);
      assert.equal(restored.length, size);
      assert.ok(restored.equals(image), 'restored bytes differ');
    });
  }

  it('stores nothing for an all-zero image and restores zeros', async () => {
    const ctx = await makeRepo();
    const source = new BufferSnapshotSource(64 * 1024);
    const snap = source.snapshot('vol-1', Buffer.alloc(1024 * 1024));
    const m = await backupResource({ repo: ctx.repo, index: await ctx.repo.loadIndex(), source, processor: ctx.processor }, { resource, disks: [{ name: 'root', snapshot: snap }] });
    assert.equal(m.stats.packsWritten, 0);
    assert.deepEqual(m.disks[0].segments, [null]);
    assert.ok((await restoreBytes(ctx, m.id)).equals(Buffer.alloc(1024 * 1024)));
  });

  it('deduplicates copied 4 KiB-aligned regions that are not block-aligned', async () => {
    const ctx = await makeRepo();
    const source = new BufferSnapshotSource(64 * 1024);
    const image = Buffer.alloc(2 * 1024 * 1024);
    const region = mixedImage('dup-src', 512 * 1024);
    region.copy(image, 0);
    region.copy(image, 1024 * 1024 + 3 * 4096);
    const snap = source.snapshot('vol-1', image);
    const m = await backupResource({ repo: ctx.repo, index: await ctx.repo.loadIndex(), source, processor: ctx.processor }, { resource, disks: [{ name: 'root', snapshot: snap }] });
    assert.ok(m.stats.chunksReused > 0, 'expected reused chunks in the copy');
    assert.ok(m.stats.bytesNew < 0.8 * 1024 * 1024, `stored ${m.stats.bytesNew} new bytes for 512 KiB of unique data copied twice`);
    assert.ok((await restoreBytes(ctx, m.id)).equals(image));
  });

  it('an incremental reads only changed blocks and each point restores on its own', async () => {
    const ctx = await makeRepo();
    const bs = 64 * 1024;
    const source = new BufferSnapshotSource(bs);
    const day1 = mixedImage('incr', 4 * 1024 * 1024 + 100);
    const s1 = source.snapshot('vol-1', day1);
    const m1 = await backupResource({ repo: ctx.repo, index: await ctx.repo.loadIndex(), source, processor: ctx.processor }, { resource, disks: [{ name: 'root', snapshot: s1 }] });
    const day2 = Buffer.from(day1);
    const changed = changeBlocks(day2, bs, 3, 'day2');
    const s2 = source.snapshot('vol-1', day2, s1.snapshotId, changed);
    source.reads = 0;
    const m2 = await backupResource(
      { repo: ctx.repo, index: await ctx.repo.loadIndex(), source, processor: ctx.processor },
      { resource, parent: m1, disks: [{ name: 'root', snapshot: s2, baseSnapshot: s1 }] },
    );
    assert.equal(m2.kind, 'incremental');
    assert.equal(m2.parent, m1.id);
    assert.equal(source.reads, changed.length, 'read more than the changed blocks');
    assert.ok((await restoreBytes(ctx, m2.id)).equals(day2), 'incremental restore differs');
    assert.ok((await restoreBytes(ctx, m1.id)).equals(day1), 'full restore differs after incremental');
  });
  it('reports the time a source waited for its own rate limits as throttling', async () => {
    const ctx = await makeRepo();
    class QuotaSource extends BufferSnapshotSource {
      throttledMs = 0;
      override async readBlocks(ref: Parameters<BufferSnapshotSource['readBlocks']>[0], block: number, count: number, target: Uint8Array): Promise<void> {
        this.throttledMs += 250;
        return super.readBlocks(ref, block, count, target);
      }
    }
    const source = new QuotaSource(64 * 1024);
    const snap = source.snapshot('vol-1', mixedImage('quota', 256 * 1024));
    const m = await backupResource({ repo: ctx.repo, index: await ctx.repo.loadIndex(), source, processor: ctx.processor }, { resource, disks: [{ name: 'root', snapshot: snap }] });
    assert.equal(m.stats.stages.throttling, source.throttledMs);
    assert.equal(m.stats.bottleneck, 'throttling');
  });
});
