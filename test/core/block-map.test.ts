// Block-map segments: SegmentBuilder fills blocks in any order, keeps a parent's records for blocks
// not set again, encodes what decodeSegment reads back, and refuses a parent of the wrong shape.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { it } from 'node:test';
import { CorruptObjectError } from '../../core/errors.ts';
import { decodeSegment, encodeSegment, SegmentBuilder, type BlockChunks } from '../../core/repo/block-map.ts';

const id = (n: number) => createHash('sha256').update(`chunk ${n}`).digest();
const plain = (blocks: BlockChunks[]) => blocks.map((b) => b.map((c) => [c.length, c.id?.toString('hex') ?? null]));

it('blocks set in any order; those not set are all zero; an all-zero segment is empty', () => {
  const b = new SegmentBuilder(2048, 4);
  assert.equal(b.empty, true);
  b.set(3, [{ length: 100, id: id(3) }, { length: 50, id: null }]);
  b.set(0, []);
  assert.equal(b.empty, false);
  const seg = decodeSegment(b.encode(), 'test');
  assert.equal(seg.firstBlock, 2048);
  assert.deepEqual(plain(seg.blocks), [[], [], [], [[100, id(3).toString('hex')], [50, null]]]);
});

it('with a parent segment, blocks not set keep its records and set ones replace them', () => {
  const parent: BlockChunks[] = [[{ length: 10, id: id(1) }], [{ length: 20, id: id(2) }, { length: 5, id: null }], []];
  const b = new SegmentBuilder(0, 3, { plaintext: encodeSegment(0, parent), where: 'tree p' });
  b.set(1, [{ length: 25, id: id(9) }]);
  for (let i = 0; i < 200; i++) b.set(2, [{ length: i + 1, id: id(i) }]); // grows its own buffer
  assert.deepEqual(plain(decodeSegment(b.encode(), 'test').blocks), [[[10, id(1).toString('hex')]], [[25, id(9).toString('hex')]], [[200, id(199).toString('hex')]]]);
});

it('a parent segment covering other blocks, or damaged, is named', () => {
  const other = encodeSegment(1024, [[], []]);
  assert.throws(() => new SegmentBuilder(0, 2, { plaintext: other, where: 'tree x' }), (err: unknown) => err instanceof CorruptObjectError && /tree x/.test(err.message) && /1024\+2, expected 0\+2/.test(err.message));
  const cut = encodeSegment(0, [[{ length: 1, id: id(1) }]]).subarray(0, 20);
  assert.throws(() => new SegmentBuilder(0, 1, { plaintext: cut, where: 'tree y' }), (err: unknown) => err instanceof CorruptObjectError && /tree y/.test(err.message) && /truncated/.test(err.message));
});
