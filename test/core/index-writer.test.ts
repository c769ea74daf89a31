// IndexWriter: index objects of at most maxEntries chunks, put as they fill; the rest at flush; a failed put fails flush.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { it } from 'node:test';
import type { PackRef } from '../../core/repo/index-file.ts';
import { IndexWriter } from '../../core/repo/index-writer.ts';
import { INDEX_PREFIX } from '../../core/repo/layout.ts';
import type { PackEntry } from '../../core/repo/pack.ts';
import { FaultyObjectStore } from '../../core/store/faulty-object-store.ts';
import { listAll } from '../../core/store/object-store.ts';
import { MemoryObjectStore } from '../../providers/memory/memory-object-store.ts';
import { makeRepo } from '../support/repo-fixture.ts';

const pack = (n: number): PackRef => ({ id: n.toString(16).padStart(32, '0'), salt: Buffer.alloc(16, n) });
const entry = (n: number): PackEntry => ({ id: createHash('sha256').update(`chunk ${n}`).digest(), offset: 100 * n, length: 10 + n, rawLength: 20 + n, flags: n % 2, kind: 0 });

it('puts an index object each time maxEntries chunks are noted, the rest at flush; every entry loads back', async () => {
  const { repo, store } = await makeRepo();
  const index = new IndexWriter(repo, { maxEntries: 3 });
  index.add(pack(1), [entry(1), entry(2)]);
  index.add(pack(2), [entry(3), entry(4), entry(5), entry(6)]);
  await new Promise((r) => setImmediate(r));
  assert.equal((await listAll(store, INDEX_PREFIX)).length, 2, 'two full parts are out before flush');
  index.add(pack(3), [entry(7)]);
  await index.flush();
  assert.equal(index.objectsWritten, 3);
  assert.equal(index.chunks, 7);
  const loaded = await repo.loadIndex();
  assert.equal(loaded.objects.size, 3);
  for (let n = 1; n <= 7; n++) {
    const e = loaded.get(entry(n).id);
    assert.ok(e, `chunk ${n} indexed`);
    assert.deepEqual({ pack: e.pack.id, offset: e.offset, length: e.length, rawLength: e.rawLength, flags: e.flags }, {
      pack: pack(n <= 2 ? 1 : n <= 6 ? 2 : 3).id,
      offset: 100 * n,
      length: 10 + n,
      rawLength: 20 + n,
      flags: n % 2,
    });
  }
});

it('writes nothing when no chunk was noted', async () => {
  const { repo, store } = await makeRepo();
  const index = new IndexWriter(repo);
  await index.flush();
  assert.equal(index.objectsWritten, 0);
  assert.deepEqual(await listAll(store, INDEX_PREFIX), []);
});

it('a failed put of a full part fails the next add and flush', async () => {
  const faulty = new FaultyObjectStore(new MemoryObjectStore());
  const { repo } = await makeRepo({ store: faulty });
  faulty.failAfterPuts(0, 'throw');
  const index = new IndexWriter(repo, { maxEntries: 2 });
  index.add(pack(1), [entry(1), entry(2)]);
  await new Promise((r) => setTimeout(r, 10));
  assert.throws(() => index.add(pack(2), [entry(3)]), /put/i, 'the next chunks are refused at once');
  await assert.rejects(index.flush(), /put/i);
  assert.equal(index.objectsWritten, 0);
});
