// The flat tables of hash results, chunks to seal and seal results come back as they went, ids and bytes included.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { it } from 'node:test';
import type { HashedChunk } from '../../core/repo/block-codec.ts';
import { decodeHashed, decodeSealed, decodeToSeal, encodeHashed, encodeSealed, encodeToSeal } from '../../worker-image/chunk-tables.ts';

const id = (n: number) => createHash('sha256').update(`id ${n}`).digest();

it('hash results: blocks of chunks with ids, all-zero chunks and empty (all-zero) blocks', () => {
  const blocks: HashedChunk[][] = [
    [{ offset: 0, length: 16384, id: id(1) }, { offset: 16384, length: 8192, id: null }, { offset: 24576, length: 499712, id: id(2) }],
    [],
    [{ offset: 0, length: 524288, id: id(3) }],
  ];
  const back = decodeHashed(encodeHashed(blocks));
  assert.deepEqual(back.map((b) => b.map((c) => ({ ...c, id: c.id?.toString('hex') ?? null }))), blocks.map((b) => b.map((c) => ({ ...c, id: c.id?.toString('hex') ?? null }))));
  assert.deepEqual(decodeHashed(encodeHashed([])), []);
});

it('chunks to seal: offsets, lengths and ids in order', () => {
  const chunks = [1, 2, 3].map((n) => ({ offset: n * 1000, length: n * 70000, id: id(n) }));
  const back = decodeToSeal(encodeToSeal(chunks));
  assert.deepEqual(back.map((c) => [c.offset, c.length, c.id.toString('hex')]), chunks.map((c) => [c.offset, c.length, c.id.toString('hex')]));
  assert.deepEqual(decodeToSeal(encodeToSeal([])), []);
});

it('seal results: flags, raw lengths and each sealed chunk as a view of the one buffer', () => {
  const data = new ArrayBuffer(300);
  const bytes = new Uint8Array(data);
  bytes.forEach((_, i) => (bytes[i] = i % 251));
  const sealed = [
    { flags: 1, rawLength: 4096, sealed: Buffer.from(data, 0, 100) },
    { flags: 0, rawLength: 170, sealed: Buffer.from(data, 100, 200) },
  ];
  const back = decodeSealed(encodeSealed(sealed), data);
  assert.deepEqual(back.map((s) => [s.flags, s.rawLength, s.sealed.byteOffset, s.sealed.length]), [[1, 4096, 0, 100], [0, 170, 100, 200]]);
  assert.ok(back[1].sealed.equals(sealed[1].sealed));
  assert.deepEqual(decodeSealed(encodeSealed([]), new ArrayBuffer(0)), []);
});

