// Block maps: which chunks make up each source block of a disk, stored as tree chunks in segments.
//
// A segment covers `segmentBlocks` consecutive blocks and is stored as one tree chunk, so an
// incremental restore point reuses the segments its changes do not touch without reading them.
// Segment plaintext: "CKBM" | version u8 | firstBlock u32 | count u32 |
//   per block: chunkCount u16, per chunk: length u31 with bit 31 set for an all-zero chunk, then id[32] unless zero.
import { CorruptObjectError } from '../errors.ts';
import { CHUNK_ID_LENGTH } from './block-codec.ts';
import { releaseBuffer } from '../util/release-buffer.ts';

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
  const segment = new SegmentBuilder(firstBlock, blocks.length);
  blocks.forEach((chunks, i) => segment.set(i, chunks));
  return segment.encode();
}

export function decodeSegment(buf: Buffer, where: string): { firstBlock: number; blocks: BlockChunks[] } {
  const { firstBlock, starts } = segmentLayout(buf, where);
  const blocks: BlockChunks[] = [];
  for (let i = 0; i + 1 < starts.length; i++) {
    const chunks: ChunkRef[] = [];
    for (let o = starts[i] + 2; o < starts[i + 1]; ) {
      const word = buf.readUInt32LE(o);
      const zero = (word & ZERO_BIT) !== 0;
      chunks.push({ length: word & ~ZERO_BIT, id: zero ? null : buf.subarray(o + 4, o + 4 + CHUNK_ID_LENGTH) });
      o += zero ? 4 : 4 + CHUNK_ID_LENGTH;
    }
    blocks.push(chunks);
  }
  return { firstBlock, blocks };
}

/** Checks a segment's plaintext whole; returns its first block and where each block's record starts (and, last, the end). */
function segmentLayout(buf: Buffer, where: string): { firstBlock: number; starts: Int32Array } {
  const fail = (why: string): never => {
    throw new CorruptObjectError(where, `block map segment: ${why}`);
  };
  if (buf.length < 13 || !buf.subarray(0, 4).equals(MAGIC)) fail('bad magic');
  if (buf[4] !== VERSION) fail(`unknown version ${buf[4]}`);
  const firstBlock = buf.readUInt32LE(5);
  const count = buf.readUInt32LE(9);
  // Each block takes at least 2 bytes: a count beyond that is damage, not a reason to allocate.
  if (count > (buf.length - 13) / 2) fail('truncated');
  const starts = new Int32Array(count + 1);
  let o = 13;
  for (let i = 0; i < count; i++) {
    starts[i] = o;
    if (o + 2 > buf.length) fail('truncated');
    const n = buf.readUInt16LE(o);
    o += 2;
    for (let j = 0; j < n; j++) {
      if (o + 4 > buf.length) fail('truncated');
      const zero = (buf.readUInt32LE(o) & ZERO_BIT) !== 0;
      o += 4;
      if (!zero) {
        if (o + CHUNK_ID_LENGTH > buf.length) fail('truncated');
        o += CHUNK_ID_LENGTH;
      }
    }
  }
  starts[count] = o;
  if (o !== buf.length) fail('trailing bytes');
  return { firstBlock, starts };
}

/**
 * One segment's block map while a backup fills it in, blocks in any order, kept in its encoded
 * form: no object per chunk. Blocks not set are all-zero, or with `base` (a parent segment's
 * plaintext, checked whole) keep the parent's record.
 */
export class SegmentBuilder {
  readonly #first: number;
  readonly #base: Buffer | null;
  /** Per block: where its record is (NONE: not set, all zero), at which offset and how long. */
  readonly #from: Uint8Array;
  readonly #at: Int32Array;
  readonly #length: Int32Array;
  #own = Buffer.allocUnsafeSlow(4096);
  #used = 0;

  constructor(firstBlock: number, count: number, base?: { plaintext: Buffer; where: string }) {
    this.#first = firstBlock;
    this.#from = new Uint8Array(count).fill(NONE);
    this.#at = new Int32Array(count);
    this.#length = new Int32Array(count);
    this.#base = base?.plaintext ?? null;
    if (base) {
      const { firstBlock: baseFirst, starts } = segmentLayout(base.plaintext, base.where);
      if (baseFirst !== firstBlock || starts.length - 1 !== count) {
        throw new CorruptObjectError(base.where, `parent segment covers blocks ${baseFirst}+${starts.length - 1}, expected ${firstBlock}+${count}`);
      }
      this.#from.fill(BASE);
      for (let i = 0; i < count; i++) {
        this.#at[i] = starts[i];
        this.#length[i] = starts[i + 1] - starts[i];
      }
    }
  }

  /** Block i (from the segment's first) is made of these chunks; none: all zero. */
  set(i: number, chunks: ReadonlyArray<{ length: number; id: Uint8Array | null }>): void {
    if (chunks.length > 0xffff) throw new RangeError(`block ${this.#first + i} has ${chunks.length} chunks; a segment holds at most 65535 per block`);
    let size = 2;
    for (const c of chunks) size += c.id ? 4 + CHUNK_ID_LENGTH : 4;
    if (this.#used + size > this.#own.length) {
      const grown = Buffer.allocUnsafeSlow(Math.max(this.#own.length * 2, this.#used + size));
      this.#own.copy(grown, 0, 0, this.#used);
      releaseBuffer(this.#own);
      this.#own = grown;
    }
    const out = this.#own;
    let o = out.writeUInt16LE(chunks.length, this.#used);
    for (const c of chunks) {
      o = out.writeUInt32LE(((c.id ? 0 : ZERO_BIT) | c.length) >>> 0, o);
      if (c.id) {
        out.set(c.id.subarray(0, CHUNK_ID_LENGTH), o);
        o += CHUNK_ID_LENGTH;
      }
    }
    this.#from[i] = OWN;
    this.#at[i] = this.#used;
    this.#length[i] = size;
    this.#used = o;
  }

  /** True when every block is all zero (such a segment is not stored). */
  get empty(): boolean {
    for (let i = 0; i < this.#from.length; i++) if (this.#from[i] !== NONE && this.#record(i).readUInt16LE(0) !== 0) return false;
    return true;
  }

  encode(): Buffer {
    const count = this.#from.length;
    let size = 13;
    for (let i = 0; i < count; i++) size += this.#from[i] === NONE ? 2 : this.#length[i];
    const out = Buffer.allocUnsafe(size);
    MAGIC.copy(out, 0);
    out[4] = VERSION;
    out.writeUInt32LE(this.#first, 5);
    let o = out.writeUInt32LE(count, 9);
    for (let i = 0; i < count; i++) o = this.#from[i] === NONE ? out.writeUInt16LE(0, o) : o + this.#record(i).copy(out, o);
    return out;
  }

  #record(i: number): Buffer {
    const at = this.#at[i];
    return (this.#from[i] === BASE ? this.#base! : this.#own).subarray(at, at + this.#length[i]);
  }
}

/** Where a block's record is: not set (an all-zero block), in the parent segment, in this builder's own buffer. */
const NONE = 0;
const BASE = 1;
const OWN = 2;
