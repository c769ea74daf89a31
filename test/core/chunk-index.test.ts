// ChunkIndex: the in-memory index (flat arrays and an open-addressing table) against a plain Map model.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { CorruptObjectError } from '../../core/errors.ts';
import { ChunkIndex, encodeIndex, type IndexedChunk, type PackRef } from '../../core/repo/index-file.ts';

const pack = (n: number): PackRef => ({ id: n.toString(16).padStart(32, '0'), salt: Buffer.alloc(16, n) });
const hashed = (n: number) => createHash('sha256').update(`chunk ${n}`).digest();
/** Ids that share their first 8 bytes: every one lands on the same table slot. */
const colliding = (n: number) => Buffer.concat([Buffer.alloc(8, 7), createHash('sha256').update(`c ${n}`).digest().subarray(0, 24)]);

function chunk(id: Buffer, p: PackRef, n: number): IndexedChunk {
  return { id, pack: p, offset: n * 100, length: 90 + (n % 7), rawLength: 65536 - n, flags: n % 2, kind: n % 3 === 0 ? 1 : 0 };
}

test('entries added decoded and encoded are found with every field; unknown ids are not', () => {
  const a = Array.from({ length: 3000 }, (_, i) => chunk(hashed(i), pack(i % 5), i));
  const b = Array.from({ length: 600 }, (_, i) => chunk(colliding(i), pack(9), i));
  for (const mode of ['decoded', 'encoded'] as const) {
    const index = new ChunkIndex();
    if (mode === 'decoded') {
      index.add('index/a', a);
      index.add('index/b', b);
    } else {
      index.addEncoded('index/a', encodeIndex(a));
      index.addEncoded('index/b', encodeIndex(b));
    }
    assert.equal(index.size, 3600, mode);
    for (const c of [...a, ...b]) {
      const e = index.get(c.id);
      assert.deepEqual(e && { ...e, id: c.id }, c, `${mode}: ${c.id.toString('hex')}`);
      assert.equal(index.has(c.id), true);
    }
    assert.equal(index.get(hashed(99999)), undefined);
    assert.equal(index.get(colliding(99999)), undefined);
    assert.equal(index.has(Buffer.alloc(5)), false, 'a short id is never found');
    assert.deepEqual([...index.objects.get('index/b')!], [pack(9).id]);
    const listed = new Map([...index.entries()].map(([id, e]) => [id.toString('hex'), e.offset]));
    assert.equal(listed.size, 3600);
    assert.equal(listed.get(a[1234].id.toString('hex')), a[1234].offset);
  }
});

test('a copy outside packs pending deletion wins; exclude drops marked packs; a first unmarked copy stays', () => {
  const marked = new Set([pack(1).id]);
  const id = hashed(1);
  const index = new ChunkIndex({ marked });
  index.add('index/1', [chunk(id, pack(1), 1)]);
  assert.equal(index.get(id)?.pack.id, pack(1).id, 'the only copy, though marked');
  index.addEncoded('index/2', encodeIndex([chunk(id, pack(2), 2)]));
  assert.equal(index.get(id)?.pack.id, pack(2).id);
  assert.equal(index.get(id)?.offset, 200);
  index.add('index/3', [chunk(id, pack(3), 3)]);
  assert.equal(index.get(id)?.pack.id, pack(2).id, 'an unmarked copy is kept');
  assert.equal(index.size, 1);

  const excluding = new ChunkIndex({ marked, exclude: true });
  excluding.addEncoded('index/1', encodeIndex([chunk(id, pack(1), 1), chunk(hashed(2), pack(2), 2)]));
  assert.equal(excluding.get(id), undefined);
  assert.equal(excluding.size, 1);
  assert.deepEqual([...excluding.objects.get('index/1')!].sort(), [pack(1).id, pack(2).id], 'the object still names both packs');
});

test('addEncoded refuses damaged index plaintext, naming the object', () => {
  const good = encodeIndex([chunk(hashed(1), pack(1), 1)]);
  const badPack = Buffer.from(good);
  badPack.writeUInt32LE(5, 4 + 32 + 4 + 32);
  for (const [buf, why] of [
    [good.subarray(0, 5), /too short/],
    [good.subarray(0, good.length - 1), /does not hold 1 entries/],
    [badPack, /names pack 5 of 1/],
  ] as const) {
    assert.throws(() => new ChunkIndex().addEncoded('index/x', buf), (err: unknown) => err instanceof CorruptObjectError && err.key === 'index/x' && why.test(err.message));
  }
});
