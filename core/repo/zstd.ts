// zstd with one reused context per thread. node:zlib's one-shot calls build and free a context per
// call (about 40% of the time for 64 KiB chunks, and native memory that piles up per thread), so
// this drives a persistent handle frame by frame, falling back to the one-shot calls if the
// handle's shape ever changes.
import zlib, { constants as zc, zstdCompressSync, zstdDecompressSync } from 'node:zlib';

interface RawHandle {
  writeSync(flush: number, input: Uint8Array, inOff: number, inLen: number, out: Uint8Array, outOff: number, outLen: number): void;
}
interface Engine {
  _handle?: RawHandle;
  _writeState?: Uint32Array;
  destroyed: boolean;
  on(event: 'error', fn: () => void): void;
}
interface Ctx {
  engine: Engine;
  handle: RawHandle;
  state: Uint32Array;
}

/** The engine's raw handle; a stream error destroys the engine at once and is emitted later (ignored here). */
function handleOf(stream: unknown): Ctx | null {
  const engine = stream as Engine;
  engine.on('error', () => undefined);
  return engine._handle && typeof engine._handle.writeSync === 'function' && engine._writeState instanceof Uint32Array
    ? { engine, handle: engine._handle, state: engine._writeState }
    : null;
}

const compressors = new Map<number, Ctx | null>();
let decompressor: Ctx | null | undefined;
let scratch = Buffer.allocUnsafe(1024 * 1024);

function ensureScratch(n: number): Buffer {
  if (scratch.length < n) scratch = Buffer.allocUnsafe(n);
  return scratch;
}

/** One complete zstd frame of `data`. */
export function zstdCompress(data: Uint8Array, level: number): Buffer {
  const frame = zstdCompressView(data, level);
  return frame.buffer === scratch.buffer ? Buffer.from(frame) : frame;
}

/**
 * One complete zstd frame of `data`, possibly a view of this thread's scratch buffer: valid only
 * until the next call, so the caller consumes it at once (no copy per chunk).
 */
export function zstdCompressView(data: Uint8Array, level: number): Buffer {
  if (!compressors.has(level)) compressors.set(level, handleOf(zlib.createZstdCompress({ params: { [zc.ZSTD_c_compressionLevel]: level, [zc.ZSTD_c_checksumFlag]: 0 } })));
  const z = compressors.get(level);
  const out = ensureScratch(data.length + (data.length >> 7) + 1024);
  if (z) {
    try {
      z.handle.writeSync(zc.ZSTD_e_end, data, 0, data.length, out, 0, out.length);
      if (!z.engine.destroyed && z.state[1] === 0 && z.state[0] > 0) return out.subarray(0, out.length - z.state[0]);
    } catch {
      // fall through to a fresh context below
    }
    compressors.delete(level);
  }
  return zstdCompressSync(data, { params: { [zc.ZSTD_c_compressionLevel]: level, [zc.ZSTD_c_checksumFlag]: 0 } });
}

/** Decompresses one frame that must expand to exactly `rawLength` bytes; throws otherwise. */
export function zstdDecompress(data: Uint8Array, rawLength: number): Buffer {
  return zstdDecompressInto(data, Buffer.allocUnsafe(rawLength), 0, rawLength);
}

/** Decompresses one frame into target[offset, offset + rawLength); returns that slice. */
export function zstdDecompressInto(data: Uint8Array, target: Buffer, offset: number, rawLength: number): Buffer {
  if (decompressor === undefined) decompressor = handleOf(zlib.createZstdDecompress());
  if (decompressor) {
    // One spare byte of room shows a frame that expands to more than it should.
    const spare = target.length > offset + rawLength;
    const out = spare ? target : ensureScratch(rawLength + 1);
    const at = spare ? offset : 0;
    try {
      decompressor.handle.writeSync(zc.ZSTD_e_end, data, 0, data.length, out, at, rawLength + 1);
      if (!decompressor.engine.destroyed && decompressor.state[1] === 0 && rawLength + 1 - decompressor.state[0] === rawLength) {
        if (!spare) out.copy(target, offset, 0, rawLength);
        return target.subarray(offset, offset + rawLength);
      }
    } catch {
      // A damaged frame can leave the context mid-frame: start a fresh one.
    }
    decompressor = handleOf(zlib.createZstdDecompress());
  }
  const plain = zstdDecompressSync(data, { maxOutputLength: Math.max(1, rawLength) });
  if (plain.length !== rawLength) throw new RangeError(`zstd frame expands to ${plain.length} bytes, expected ${rawLength}`);
  plain.copy(target, offset);
  return target.subarray(offset, offset + rawLength);
}
