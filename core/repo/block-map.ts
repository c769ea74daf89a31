// Block maps: which chunks make up each source block of a disk, stored as tree chunks in segments.
//
// A segment covers `segmentBlocks` consecutive blocks and is stored as one tree chunk, so an
// incremental restore point reuses the segments its changes do not touch without reading them.
// Segment plaintext: "CKBM" | version u8 | firstBlock u32 | count u32 |
//   per block: chunkCount u16, per chunk: length u31 with bit 31 set for an all-zero chunk, then id[32] unless zero.
import { CorruptObjectError } from '../errors.ts';
import { CHUNK_ID_LENGTH } from './block-codec.ts';

const MAGIC = Buffer.from('CKBM');
const VERSION = 1;
const ZERO_BIT = 0x80000000;

export interface ChunkRef {
  length: number;
  /** null for an all-zero chunk. */
  id: Buffer | null;
}

/** Chunks of one block in order; an empty array is an all-zero block. */
export type BlockChunks = ChunkRef[];

export function encodeSegment(firstBlock: number, blocks: BlockChunks[]): Buffer {
  let size = 13;
  for (const b of blocks) {
    size += 2;
    for (const c of b) size += 4 + (c.id ? CHUNK_ID_LENGTH : 0);
  }
  const out = Buffer.alloc(size);
  MAGIC.copy(out, 0);
  out[4] = VERSION;
  out.writeUInt32LE(firstBlock, 5);
  out.writeUInt32LE(blocks.length, 9);
  let o = 13;
  for (const b of blocks) {
    out.writeUInt16LE(b.length, o);
    o += 2;
    for (const c of b) {
      out.writeUInt32LE(((c.id ? 0 : ZERO_BIT) | c.length) >>> 0, o);
      o += 4;
      if (c.id) {
        c.id.copy(out, o);
        o += CHUNK_ID_LENGTH;
      }
    }
  }
  return out;
}

export function decodeSegment(buf: Buffer, where: string): { firstBlock: number; blocks: BlockChunks[] } {
  const fail = (why: string): never => {
    throw new CorruptObjectError(where, `block map segment: ${why}`);
  };
  if (buf.length < 13 || !buf.subarray(0, 4).equals(MAGIC)) fail('bad magic');
  if (buf[4] !== VERSION) fail(`unknown version ${buf[4]}`);
  const firstBlock = buf.readUInt32LE(5);
  const count = buf.readUInt32LE(9);
  const blocks: BlockChunks[] = [];
  let o = 13;
  for (let i = 0; i < count; i++) {
    if (o + 2 > buf.length) fail('truncated');
    const n = buf.readUInt16LE(o);
    o += 2;
    const chunks: ChunkRef[] = [];
    for (let j = 0; j < n; j++) {
      if (o + 4 > buf.length) fail('truncated');
      const word = buf.readUInt32LE(o);
      o += 4;
      const zero = (word & ZERO_BIT) !== 0;
      if (!zero && o + CHUNK_ID_LENGTH > buf.length) fail('truncated');
      chunks.push({ length: word & ~ZERO_BIT, id: zero ? null : buf.subarray(o, o + CHUNK_ID_LENGTH) });
      if (!zero) o += CHUNK_ID_LENGTH;
    }
    blocks.push(chunks);
  }
  if (o !== buf.length) fail('trailing bytes');
  return { firstBlock, blocks };
}
