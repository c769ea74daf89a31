// The flat tables of hash results and chunks to seal come back as they went, ids included.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { it } from 'node:test';
import type { HashedChunk } from '../../core/repo/block-codec.ts';
import { decodeHashed, decodeToSeal, encodeHashed, encodeToSeal } from '../../worker-image/chunk-tables.ts';

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
