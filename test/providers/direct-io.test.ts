// Direct (O_DIRECT) writes: page-aligned buffers, whole objects written from them, restore runs through a second descriptor.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InlineBlockProcessor } from '../../core/engine/block-processor.ts';
import { chunkId, CHUNK_KIND, sealChunk } from '../../core/repo/block-codec.ts';
import { allocAligned, alignUp, DIRECT_ALIGN, isAligned } from '../../core/util/aligned-buffer.ts';
import { createFile, DIRECT_MIN, directWritable, openDirect } from '../../providers/local/direct-io.ts';
import { FileUpload } from '../../providers/local/file-upload.ts';
import { FileObjectStore } from '../../providers/local/file-object-store.ts';
import { FileVolumeSink } from '../../providers/local/file-volume-sink.ts';
import { ThreadBlockProcessor } from '../../worker-image/thread-block-processor.ts';
import { withTempDir } from '../support/temp-dir.ts';

const withDir = (fn: (dir: string) => Promise<void>) => withTempDir('ck-direct-', fn);

/** Bytes that differ at every offset, so a misplaced or padded write shows. */
function pattern(n: number, seed: number): Buffer {
  const out = Buffer.alloc(n);
  for (let i = 0; i < n; i++) out[i] = (i * 131 + seed + (i >>> 12)) & 0xff;
  return out;
}

test('allocAligned gives zero-filled page-aligned buffers; only their aligned views count as aligned', () => {
  const buf = allocAligned(DIRECT_MIN + 5);
  assert.equal(buf.length, DIRECT_MIN + 5);
  assert.ok(buf.every((b) => b === 0));
  assert.equal(isAligned(buf), true);
  assert.equal(isAligned(buf.subarray(DIRECT_ALIGN)), true);
  assert.equal(isAligned(buf.subarray(1)), false);
  assert.equal(isAligned(Buffer.alloc(DIRECT_MIN)), false, 'an ordinary buffer promises no alignment');
  assert.equal(alignUp(1), DIRECT_ALIGN);
  assert.equal(alignUp(DIRECT_ALIGN), DIRECT_ALIGN);
  assert.equal(alignUp(0), 0);
});

test('directWritable wants an aligned view of at least DIRECT_MIN bytes', () => {
  const buf = allocAligned(2 * DIRECT_MIN);
  assert.equal(directWritable(buf.subarray(0, DIRECT_MIN)), process.platform === 'linux');
  assert.equal(directWritable(buf.subarray(0, DIRECT_MIN - 1)), false);
  assert.equal(directWritable(buf.subarray(512, 512 + DIRECT_MIN)), false);
});

test('whole files written directly hold exactly the data: the padded last block is cut back', () =>
  withDir(async (dir) => {
    for (const size of [DIRECT_MIN + 12345, 2 * DIRECT_MIN]) {
      const buf = allocAligned(size);
      pattern(size, size & 0xff).copy(buf);
      const path = join(dir, `f${size}`);
      const file = await createFile(path, directWritable(buf));
      try {
        if (process.platform === 'linux') assert.equal(file.direct, true, 'ext4 and most Linux file systems allow O_DIRECT');
        // One piece, as FileObjectStore.put writes it; committing here only closes the file.
        const temp = { path, file, commit: () => file.handle.close(), discard: () => file.handle.close() };
        await new FileUpload(temp, (err) => err).commit(buf);
      } finally {
        await file.handle.close().catch(() => undefined);
      }
      const back = await readFile(path);
      assert.equal(back.length, size);
      assert.ok(back.equals(pattern(size, size & 0xff)), `${size}: contents`);
    }
  }));

test('FileObjectStore puts aligned objects directly and reads them back byte for byte', () =>
  withDir(async (dir) => {
    const store = new FileObjectStore(join(dir, 'repo'));
    const size = 3 * DIRECT_MIN + 77;
    const buf = allocAligned(size + 1024 * 1024);
    pattern(size, 9).copy(buf);
    await store.put('packs/ab/abcdef', buf.subarray(0, size), { kind: 'pack' });
    await store.flush();
    assert.equal((await stat(join(dir, 'repo/packs/ab/abcdef'))).size, size);
    assert.ok((await store.get('packs/ab/abcdef')).equals(pattern(size, 9)));
    const piece = await store.get('packs/ab/abcdef', { range: { offset: size - 100, length: 100 } });
    assert.ok(piece.equals(pattern(size, 9).subarray(size - 100)));
  }));

for (const lanes of ['inline', 'thread'] as const) {
  test(`restore runs (${lanes}) through the sink's direct descriptor land where they belong, short or unaligned ones through the buffered one`, () =>
    withDir(async (dir) => {
      const path = join(dir, 'restored.img');
      const sink = new FileVolumeSink(path);
      const fd = await sink.fileDescriptor();
      const directFd = await sink.directDescriptor();
      if (process.platform === 'linux') assert.notEqual(directFd, null, 'ext4 and most Linux file systems allow O_DIRECT');
      const idKey = Buffer.alloc(32, 3);
      const key = Buffer.alloc(32, 4);
      const setup = { chunking: { blockSize: 512 * 1024, pageSize: 4096, subChunkAverage: 64 * 1024, subChunkMin: 16 * 1024 }, compressionLevel: 1, chunkIdKey: idKey, treeIdKey: idKey };
      const processor = lanes === 'inline' ? new InlineBlockProcessor(setup) : new ThreadBlockProcessor(setup, 1);
      try {
        const a = pattern(256 * 1024, 1); // a run long enough to go direct
        const b = pattern(5000, 2); // not a whole block: written through the buffered descriptor
        const size = 3 * a.length + b.length;
        const sealedA = sealChunk(a, chunkId(idKey, a), CHUNK_KIND.data, key, 1);
        const sealedB = sealChunk(b, chunkId(idKey, b), CHUNK_KIND.data, key, 1);
        const input = Buffer.concat([sealedA.sealed, sealedB.sealed]);
        const r = await processor.openToFile(input, [
          { start: 0, length: sealedA.sealed.length, id: chunkId(idKey, a), kind: CHUNK_KIND.data, flags: sealedA.flags, rawLength: a.length, targets: [0, 2 * a.length] },
          { start: sealedA.sealed.length, length: sealedB.sealed.length, id: chunkId(idKey, b), kind: CHUNK_KIND.data, flags: sealedB.flags, rawLength: b.length, targets: [3 * a.length] },
        ], key, { fd, size, directFd });
        assert.deepEqual(r.reasons, [null, null]);
        assert.equal(r.bytesWritten, 2 * a.length + b.length);
        await sink.finish(size);
        const back = await readFile(path);
        assert.ok(back.subarray(0, a.length).equals(a));
        assert.ok(back.subarray(a.length, 2 * a.length).every((x) => x === 0), 'the gap stays zero');
        assert.ok(back.subarray(2 * a.length, 3 * a.length).equals(a));
        assert.ok(back.subarray(3 * a.length).equals(b));
      } finally {
        await processor.close();
      }
    }));
}

test('openDirect refuses a missing file with its error', async () => {
  assert.equal(await openDirect(join(tmpdir(), 'ck-direct-missing', 'x')).catch((e: NodeJS.ErrnoException) => e.code), 'ENOENT');
});
