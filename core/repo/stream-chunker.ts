// Content-defined chunking of byte streams (database exports): a gear rolling hash, FastCDC style,
// so a dump that shifts by a few bytes still cuts at the same content and deduplicates.
import type { MasterKey } from '../crypto/master-key.ts';

export interface StreamChunking {
  min: number;
  avg: number;
  max: number;
}

export const DEFAULT_STREAM_CHUNKING: StreamChunking = { min: 128 * 1024, avg: 512 * 1024, max: 2 * 1024 * 1024 };

/** The gear table is keyed by the repository, so cut points reveal nothing across repositories. */
export function gearTable(master: MasterKey): Uint32Array {
  const bytes = Buffer.alloc(1024);
  for (let i = 0; i < 32; i++) master.derive(`cloudkeep/v1/stream-gear/${i}`, Buffer.alloc(0)).copy(bytes, i * 32);
  return new Uint32Array(bytes.buffer, bytes.byteOffset, 256);
}

/**
 * The top `bits` bits of the 32-bit hash. Bit k of the gear hash depends only on the last k + 1
 * bytes, so a mask of the low bits would cut on a ~20-byte window, and repetitive text (SQL dumps)
 * can then offer no cut at all for some keys: chunks end at the maximum size and stop
 * resynchronising after an insert. The top bits see the whole 32-byte window.
 */
function maskFor(bits: number): number {
  return bits >= 32 ? 0xffffffff : (~0 << (32 - bits)) >>> 0;
}

/**
 * Splits an async byte stream into chunks. Normalized chunking: a stricter mask before the
 * average size and a looser one after, which narrows the size spread.
 */
export async function* chunkStream(source: AsyncIterable<Uint8Array>, gear: Uint32Array, params: StreamChunking = DEFAULT_STREAM_CHUNKING): AsyncGenerator<Buffer> {
  const bits = Math.round(Math.log2(params.avg));
  const strict = maskFor(bits + 1);
  const loose = maskFor(bits - 1);
  let buf = Buffer.allocUnsafe(params.max);
  let len = 0;
  let hash = 0;
  for await (const piece of source) {
    let i = 0;
    while (i < piece.length) {
      const take = Math.min(piece.length - i, params.max - len);
      buf.set(piece.subarray(i, i + take), len);
      let cut = -1;
      for (let j = len; j < len + take; j++) {
        hash = ((hash << 1) + gear[buf[j]]) >>> 0;
        const size = j + 1;
        if (size < params.min) continue;
        if ((hash & (size < params.avg ? strict : loose)) === 0 || size === params.max) {
          cut = size;
          break;
        }
      }
      if (cut < 0) {
        len += take;
        i += take;
        continue;
      }
      const consumed = cut - len;
      yield Buffer.from(buf.subarray(0, cut));
      len = 0;
      hash = 0;
      i += consumed;
    }
  }
  if (len > 0) yield Buffer.from(buf.subarray(0, len));
  buf = Buffer.alloc(0);
}
