// The worker-thread processor gives the same repository results as the inline one, end to end.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { backupResource } from '../../core/engine/backup.ts';
import { restoreDisk } from '../../core/engine/restore.ts';
import { verifyRepository } from '../../core/maintenance/verify.ts';
import { InlineBlockProcessor, type ProcessorSetup } from '../../core/engine/block-processor.ts';
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

  it('starts threads before the setup exists (warm), runs tasks once it arrives, and closes without one', async () => {
    const ctx = await makeRepo();
    let give!: (s: ProcessorSetup) => void;
    const processor = new ThreadBlockProcessor(new Promise<ProcessorSetup>((r) => (give = r)), 2);
    processor.warm();
    const hashed = processor.hashBlocks(mixedImage('warm', 256 * 1024), 64 * 1024);
    await new Promise((r) => setTimeout(r, 50));
    give({ chunking: ctx.repo.params.chunking, compressionLevel: 1, chunkIdKey: ctx.repo.master.chunkIdKey, treeIdKey: ctx.repo.master.treeIdKey });
    const blocks = await hashed;
    const inline = new InlineBlockProcessor({ chunking: ctx.repo.params.chunking, compressionLevel: 1, chunkIdKey: ctx.repo.master.chunkIdKey, treeIdKey: ctx.repo.master.treeIdKey });
    assert.deepEqual(
      blocks.map((b) => b.map((c) => c.id?.toString('hex') ?? null)),
      (await inline.hashBlocks(mixedImage('warm', 256 * 1024), 64 * 1024)).map((b) => b.map((c) => c.id?.toString('hex') ?? null)),
      'the threads hash with the setup handed over later',
    );
    await processor.close();
    const never = new ThreadBlockProcessor(new Promise<ProcessorSetup>(() => undefined), 2);
    never.warm();
    await never.close();
  });

  it('lends read buffers in power-of-two size classes and lends a handed-back one again for any read that fits', async () => {
    const ctx = await makeRepo();
    const processor = new ThreadBlockProcessor({ chunking: ctx.repo.params.chunking, compressionLevel: 1, chunkIdKey: ctx.repo.master.chunkIdKey, treeIdKey: ctx.repo.master.treeIdKey }, 1);
    try {
      const first = processor.spareBuffer(3 * 1024 * 1024 + 5)!;
      assert.equal(first.length, 4 * 1024 * 1024, 'rounded up to its size class');
      assert.equal(processor.spareBuffer(10)!.length, 1024 * 1024, 'at least 1 MiB');
      // An open task moves the lent buffer to the thread, which hands it back with its result.
      const results = await processor.openChunks(first.subarray(0, 0), [], Buffer.alloc(32), false);
      assert.deepEqual(results, []);
      const again = processor.spareBuffer(2 * 1024 * 1024)!;
      assert.equal(again.length, 4 * 1024 * 1024, 'the handed-back buffer serves a smaller read');
      assert.equal(first.buffer.byteLength, 0, 'the first view was moved to the thread (detached)');
    } finally {
      await processor.close();
    }
  });
});
