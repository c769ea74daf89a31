// The worker-thread processor gives the same repository results as the inline one, end to end.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { backupResource } from '../../core/engine/backup.ts';
import { restoreDisk } from '../../core/engine/restore.ts';
import { verifyRepository } from '../../core/maintenance/verify.ts';
import { ThreadBlockProcessor } from '../../worker-image/thread-block-processor.ts';
import { BufferSink, BufferSnapshotSource } from '../support/buffer-volume.ts';
import { mixedImage } from '../support/images.ts';
import { makeRepo } from '../support/repo-fixture.ts';

describe('ThreadBlockProcessor', () => {
  it('backs up, restores and fully verifies through worker threads', async () => {
    const ctx = await makeRepo();
    const processor = new ThreadBlockProcessor(
      { chunking: ctx.repo.params.chunking, compressionLevel: 1, chunkIdKey: ctx.repo.master.chunkIdKey, treeIdKey: ctx.repo.master.treeIdKey },
      2,
    );
    try {
      const source = new BufferSnapshotSource(64 * 1024);
      const image = mixedImage('threads', 6 * 1024 * 1024 + 333);
      const snap = source.snapshot('v', image);
      const m = await backupResource(
        { repo: ctx.repo, index: await ctx.repo.loadIndex(), source, processor },
        { resource: { id: 'v', kind: 'volume', provider: 'test' }, disks: [{ name: 'root', snapshot: snap }] },
      );
      assert.ok(processor.busyMs > 0, 'threads reported no busy time');
      const sink = new BufferSink();
      await restoreDisk({ repo: ctx.repo, index: await ctx.repo.loadIndex(), processor }, m, 'root', sink);
      assert.ok(sink.data.equals(image), 'restored bytes differ');
      const report = await verifyRepository(ctx.repo, processor, { full: true });
      assert.deepEqual(report.problems, []);
      assert.ok(report.chunksChecked > 0);
    } finally {
      await processor.close();
    }
  });
});
