// Stream maps: the ordered chunks of a byte stream, stored as tree chunks of up to 4096 entries.
// Segment plaintext: "CKSM" | version u8 | count u32 | (length u32 | id[32])*
import { CorruptObjectError } from '../errors.ts';
import { CHUNK_ID_LENGTH } from './block-codec.ts';

const MAGIC = Buffer.from('CKSM');
const VERSION = 1;
export const STREAM_SEGMENT_CHUNKS = 4096;

export interface StreamChunkRef {
  length: number;
  id: Buffer;
}

export function encodeStreamSegment(chunks: StreamChunkRef[]): Buffer {
  const out = Buffer.alloc(9 + chunks.length * (4 + CHUNK_ID_LENGTH));
  MAGIC.copy(out, 0);
  out[4] = VERSION;
  out.writeUInt32LE(chunks.length, 5);
  let o = 9;
  for (const c of chunks) {
    out.writeUInt32LE(c.length, o);
    c.id.copy(out, o + 4);
    o += 4 + CHUNK_ID_LENGTH;
  }
  return out;
}

export function decodeStreamSegment(buf: Buffer, where: string): StreamChunkRef[] {
  if (buf.length < 9 || !buf.subarray(0, 4).equals(MAGIC) || buf[4] !== VERSION) throw new CorruptObjectError(where, 'stream map segment: bad header');
  const count = buf.readUInt32LE(5);
  if (buf.length !== 9 + count * (4 + CHUNK_ID_LENGTH)) throw new CorruptObjectError(where, `stream map segment of ${buf.length} bytes does not hold ${count} chunks`);
  const out: StreamChunkRef[] = [];
  for (let i = 0, o = 9; i < count; i++, o += 4 + CHUNK_ID_LENGTH) {
    out.push({ length: buf.readUInt32LE(o), id: Buffer.from(buf.subarray(o + 4, o + 4 + CHUNK_ID_LENGTH)) });
  }
  return out;
}
