// Objects written in pieces (FileObjectStore.beginUpload) and packs streamed through them (PackWriter, PackStream).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chunkId, CHUNK_KIND, sealChunk } from '../../core/repo/block-codec.ts';
import { packKey } from '../../core/repo/layout.ts';
import type { IndexedChunk, PackRef } from '../../core/repo/index-file.ts';
import { parsePack, type PackEntry } from '../../core/repo/pack.ts';
import { PackWriter } from '../../core/repo/pack-writer.ts';
import { listAll, ObjectNotFoundError, type ObjectStore } from '../../core/store/object-store.ts';
import { RetryingObjectStore } from '../../core/store/retrying-object-store.ts';
import { allocAligned } from '../../core/util/aligned-buffer.ts';
import { FileObjectStore } from '../../providers/local/file-object-store.ts';
import { MemoryObjectStore } from '../../providers/memory/memory-object-store.ts';
import { makeRepo } from '../support/repo-fixture.ts';
import { withTempDir } from '../support/temp-dir.ts';

/** The usual temp dir (O_DIRECT on most file systems) and tmpfs (refuses it: the buffered path). */
const ROOTS = [tmpdir(), ...(existsSync('/dev/shm') ? ['/dev/shm'] : [])];

const withDir = (root: string, fn: (dir: string) => Promise<void>) => withTempDir('ck-upload-', fn, root);

/** A page-aligned copy of `bytes` with room after it. */
function aligned(bytes: Buffer): Buffer {
  const out = allocAligned(bytes.length + 8192);
  bytes.copy(out);
  return out.subarray(0, bytes.length);
}

/** Writes `count` random chunks through a pack writer; checks each against the index, the trailers and the byte count. */
async function streamChunks(store: ObjectStore, sizes: number[], target: number): Promise<PackWriter> {
  const { repo } = await makeRepo({ store });
  const written: IndexedChunk[] = [];
  const index = { add: (pack: PackRef, entries: PackEntry[]) => written.push(...entries.map((e) => ({ ...e, pack }))) };
  const packs = new PackWriter(repo, { stream: true, targetSize: target, index });
  const sealed = new Map<string, Buffer>();
  await Promise.all(
    sizes.map(async (n) => {
      const piece = randomBytes(n);
      const id = chunkId(repo.master.chunkIdKey, piece);
      const chunk = sealChunk(piece, id, CHUNK_KIND.data, packs.key, 1);
      sealed.set(id.toString('hex'), Buffer.from(chunk.sealed));
      await packs.add(id, CHUNK_KIND.data, chunk);
    }),
  );
  await packs.flush();
  await store.flush?.();
  assert.equal(written.length, sizes.length);
  for (const c of written) {
    const bytes = await store.get(packKey(c.pack.id), { range: { offset: c.offset, length: c.length } });
    assert.ok(bytes.equals(sealed.get(c.id.toString('hex'))!), `chunk ${c.id.toString('hex')} where the index says`);
  }
  let total = 0;
  for (const p of new Set(written.map((c) => c.pack.id))) {
    const pack = await store.get(packKey(p));
    total += pack.length;
    assert.equal(parsePack(repo.master, p, packKey(p), pack).entries.length, written.filter((c) => c.pack.id === p).length);
  }
  assert.equal(total, packs.bytesWritten);
  return packs;
}

for (const root of ROOTS) {
  describe(`uploads under ${root}`, () => {
    it('aligned and unaligned pieces make exactly their concatenation, visible only after commit', () =>
      withDir(root, async (dir) => {
        const store = new FileObjectStore(dir);
        const parts = [aligned(randomBytes(8192)), randomBytes(1000), aligned(randomBytes(4096)), randomBytes(5), aligned(randomBytes(3 * 4096))];
        const last = aligned(randomBytes(777));
        const upload = await store.beginUpload('packs/aa/one', { kind: 'pack' });
        for (const p of parts) await upload.append(p);
        await assert.rejects(store.stat('packs/aa/one'), ObjectNotFoundError, 'nothing under the key before commit');
        assert.deepEqual((await listAll(store, 'packs/')).map((i) => i.key), []);
        await upload.commit(last);
        await store.flush();
        assert.ok((await store.get('packs/aa/one')).equals(Buffer.concat([...parts, last])));
        await assert.rejects(upload.append(Buffer.alloc(1)), /already committed or aborted/);
      }));

    it('an aborted upload leaves no object and no temp file', () =>
      withDir(root, async (dir) => {
        const store = new FileObjectStore(dir);
        const upload = await store.beginUpload('packs/bb/two', { kind: 'pack' });
        await upload.append(aligned(randomBytes(50_000)));
        await upload.abort();
        await assert.rejects(store.stat('packs/bb/two'), ObjectNotFoundError);
        assert.deepEqual(await readdir(join(dir, 'packs/bb')), []);
      }));

    it('a pack writer streams packs through the retrying decorator: stages turn over, a chunk larger than a stage, every chunk where the index says', () =>
      withDir(root, async (dir) => {
        const store = new RetryingObjectStore(new FileObjectStore(dir));
        const sizes = [...Array.from({ length: 60 }, (_, i) => 50_000 + ((i * 7919) % 250_000)), 7 * 1024 * 1024 + 3];
        const packs = await streamChunks(store, sizes, 6 * 1024 * 1024);
        assert.ok(packs.packsWritten >= 2, `${packs.packsWritten} packs`);
      }));
  });
}

it('a pack writer asked to stream to stores without uploads puts whole packs', async () => {
  for (const store of [new MemoryObjectStore(), new RetryingObjectStore(new MemoryObjectStore())]) {
    const packs = await streamChunks(store, [30_000, 40_000, 50_000], 64 * 1024);
    assert.equal(packs.packsWritten, 2);
  }
});
