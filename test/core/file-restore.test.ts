// Restore to a file-backed sink: processor lanes write the verified blocks themselves; damage is still refused.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backupResource } from '../../core/engine/backup.ts';
import type { BlockProcessor } from '../../core/engine/block-processor.ts';
import { restoreDisk } from '../../core/engine/restore.ts';
import { CorruptObjectError } from '../../core/errors.ts';
import { packKey } from '../../core/repo/layout.ts';
import { FileVolumeSink } from '../../providers/local/file-volume-sink.ts';
import { ThreadBlockProcessor } from '../../worker-image/thread-block-processor.ts';
import { BufferSnapshotSource } from '../support/buffer-volume.ts';
import { mixedImage } from '../support/images.ts';
import { makeRepo } from '../support/repo-fixture.ts';

type Repo = Awaited<ReturnType<typeof makeRepo>>;

async function backedUp(image: Buffer): Promise<{ ctx: Repo; manifest: Awaited<ReturnType<typeof backupResource>> }> {
  const ctx = await makeRepo();
  const source = new BufferSnapshotSource(64 * 1024);
  const snap = source.snapshot('v', image);
  const manifest = await backupResource(
    { repo: ctx.repo, index: await ctx.repo.loadIndex(), source, processor: ctx.processor },
    { resource: { id: 'v', kind: 'volume', provider: 'test' }, disks: [{ name: 'root', snapshot: snap }] },
  );
  return { ctx, manifest };
}

async function restoreToFile(ctx: Repo, manifest: Awaited<ReturnType<typeof backupResource>>, processor: BlockProcessor, path: string) {
  const sink = new FileVolumeSink(path);
  try {
    return await restoreDisk({ repo: ctx.repo, index: await ctx.repo.loadIndex(), processor }, manifest, 'root', sink);
  } finally {
    await sink.close();
  }
}

describe('restore to a file-backed sink', () => {
  const image = mixedImage('file-restore', 5 * 1024 * 1024 + 4321);

  it('writes the exact image from the inline processor and from worker threads, zero ranges unwritten', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ck-file-restore-'));
    const { ctx, manifest } = await backedUp(image);
    const threads = new ThreadBlockProcessor({ chunking: ctx.repo.params.chunking, compressionLevel: 1, chunkIdKey: ctx.repo.master.chunkIdKey, treeIdKey: ctx.repo.master.treeIdKey }, 2);
    try {
      for (const [name, processor] of [['inline', ctx.processor], ['threads', threads]] as const) {
        const path = join(dir, `${name}.img`);
        const r = await restoreToFile(ctx, manifest, processor, path);
        assert.ok((await readFile(path)).equals(image), `${name}: restored bytes differ`);
        assert.equal((await stat(path)).size, image.length);
        const nonZero = image.reduce((n, b) => n + (b === 0 ? 0 : 1), 0);
        assert.ok(r.bytesWritten >= nonZero && r.bytesWritten < image.length, `${name}: wrote ${r.bytesWritten} of ${image.length} bytes (${nonZero} non-zero)`);
      }
    } finally {
      await threads.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses a damaged chunk, naming its pack, with the inline processor and worker threads', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ck-file-restore-'));
    const { ctx, manifest } = await backedUp(image);
    const index = await ctx.repo.loadIndex();
    const [, victim] = [...index.entries()].find(([, e]) => e.kind === 0)!;
    const key = packKey(victim.pack.id);
    const pack = await ctx.store.get(key);
    pack[victim.offset + Math.floor(victim.length / 2)] ^= 0x5a;
    await ctx.store.put(key, pack);
    const threads = new ThreadBlockProcessor({ chunking: ctx.repo.params.chunking, compressionLevel: 1, chunkIdKey: ctx.repo.master.chunkIdKey, treeIdKey: ctx.repo.master.treeIdKey }, 2);
    try {
      for (const [name, processor] of [['inline', ctx.processor], ['threads', threads]] as const) {
        await assert.rejects(restoreToFile(ctx, manifest, processor, join(dir, `${name}.img`)), (err) => {
          assert.ok(err instanceof CorruptObjectError, `${name}: expected CorruptObjectError, got ${String(err)}`);
          assert.equal(err.key, key);
          assert.match(err.message, /authentication failed/);
          return true;
        });
      }
    } finally {
      await threads.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
