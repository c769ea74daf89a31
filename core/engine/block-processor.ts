// The block-processor port: the CPU work of backup, restore and verify, run inline or on worker threads.
import { writeSync } from 'node:fs';
import type { ChunkingParams } from '../repo/config.ts';
import { allocAligned, DIRECT_ALIGN, isAligned } from '../util/aligned-buffer.ts';
import { hashBlock, openChunk, sealChunkInto, sealedBound, type HashedChunk, type OpenResult, type SealedChunk } from '../repo/block-codec.ts';

export interface ProcessorSetup {
  chunking: ChunkingParams;
  compressionLevel: number;
  chunkIdKey: Buffer;
  treeIdKey: Buffer;
}

export interface ChunkToSeal {
  offset: number;
  length: number;
  id: Buffer;
}

export interface ChunkToOpen {
  /** Offset of the sealed chunk within the buffer passed. */
  start: number;
  length: number;
  id: Buffer;
  kind: number;
  flags: number;
  rawLength: number;
}

export interface ChunkToRestore extends ChunkToOpen {
  /** Byte offsets in the target file where the chunk's data belongs (one chunk may be wanted many times). */
  targets: number[];
}

/** An open file that lanes write restored data to with positioned writes; writes are clipped to `size`. */
export interface FileTarget {
  fd: number;
  size: number;
  /**
   * The same file opened with O_DIRECT, when the file system allows it: runs whose memory, offset
   * and length are block-aligned go through it, skipping the page cache (core/util/aligned-buffer.ts).
   */
  directFd?: number | null;
}

export interface FileWriteResult {
  /** Per chunk, in the order given: null when sound (and written), else why it was refused. */
  reasons: Array<string | null>;
  bytesWritten: number;
  /** Milliseconds spent in the writes. */
  writeMs: number;
}

export interface BlockProcessor {
  /** Number of parallel lanes; callers size their in-flight work by it. */
  readonly lanes: number;
  /** Milliseconds the lanes spent computing (not waiting), summed over lanes. */
  readonly busyMs: number;
  /** Hashes `data`, a run of whole blocks of `blockSize`; returns each block's chunks. */
  hashBlocks(data: Uint8Array, blockSize: number): Promise<HashedChunk[][]>;
  sealChunks(data: Uint8Array, chunks: ChunkToSeal[], kind: number, key: Buffer): Promise<SealedChunk[]>;
  /**
   * Hands back the results of one sealChunks call once the caller is done with them (copied them
   * into a pack): their buffer may serve a later call instead of a new allocation.
   */
  recycle?(sealed: SealedChunk[]): void;
  /**
   * A buffer of at least `bytes` that earlier open tasks handed back, to read the next input of
   * openChunks/openToFile into (a store's `into`); undefined when none is spare.
   */
  spareBuffer?(bytes: number): Buffer | undefined;
  /**
   * Opens chunks; with `keepData` false returns only whether each is sound (verify). `data` may be
   * handed over to another thread (its buffer detached): the caller must not use it afterwards.
   */
  openChunks(data: Uint8Array, chunks: ChunkToOpen[], key: Buffer, keepData: boolean): Promise<OpenResult[]>;
  /**
   * Opens chunks and writes each sound one at its targets in `file` from the lane itself, so restored
   * data never travels back to the caller; a refused chunk is not written. `data` may be handed over
   * as with openChunks.
   */
  openToFile(data: Uint8Array, chunks: ChunkToRestore[], key: Buffer, file: FileTarget): Promise<FileWriteResult>;
  close(): Promise<void>;
}

/** Pure functions shared by the inline processor and the worker-thread entry. */
export const processorOps = {
  hash(setup: ProcessorSetup, data: Uint8Array, blockSize: number): HashedChunk[][] {
    const out: HashedChunk[][] = [];
    for (let off = 0; off < data.length; off += blockSize) out.push(hashBlock(data.subarray(off, off + blockSize), setup.chunking, setup.chunkIdKey));
    return out;
  },
  /** Seals chunks back to back into `into` when it has room, else into a new buffer (each result a view, the first at offset 0). */
  seal(setup: ProcessorSetup, data: Uint8Array, chunks: ChunkToSeal[], kind: number, key: Buffer, into?: Uint8Array): SealedChunk[] {
    const need = chunks.reduce((a, c) => a + sealedBound(c.length), 0);
    const out = into && into.length >= need ? Buffer.from(into.buffer, into.byteOffset, into.length) : Buffer.allocUnsafeSlow(need);
    let at = 0;
    return chunks.map((c) => {
      const r = sealChunkInto(data.subarray(c.offset, c.offset + c.length), c.id, kind, key, setup.compressionLevel, out, at);
      const sealed = out.subarray(at, at + r.length);
      at += r.length;
      return { flags: r.flags, rawLength: r.rawLength, sealed };
    });
  },
  /** Opens chunks; with keepData their data lands back to back in one buffer, in the order given. */
  open(setup: ProcessorSetup, data: Uint8Array, chunks: ChunkToOpen[], key: Buffer, keepData: boolean): OpenResult[] {
    const scratch = keepData ? null : scratchOf(Math.max(0, ...chunks.map((c) => c.rawLength)));
    const out = keepData ? Buffer.allocUnsafeSlow(chunks.reduce((a, c) => a + c.rawLength, 0)) : null;
    let offset = 0;
    return chunks.map((c) => {
      const idKey = c.kind === 1 ? setup.treeIdKey : setup.chunkIdKey;
      const r = openChunk(data.subarray(c.start, c.start + c.length), c.id, c.kind, c.flags, c.rawLength, key, idKey, out ?? scratch!, out ? offset : 0);
      offset += c.rawLength;
      return r.ok && !keepData ? { ok: true, data: Buffer.alloc(0) } : r;
    });
  },
  /** openChunks into a scratch buffer reused by the thread, then merged positioned writes. */
  openToFile(setup: ProcessorSetup, data: Uint8Array, chunks: ChunkToRestore[], key: Buffer, file: FileTarget): FileWriteResult {
    const out = scratchOf(rawBytes(chunks));
    const { reasons, writes } = processorOps.decodeForFile(setup, data, chunks, key, file, out);
    const started = performance.now();
    let bytesWritten = 0;
    for (const [fd, at, from, len] of writes) {
      for (let done = 0; done < len; ) done += writeSync(fd, out, from + done, len - done, at + done);
      bytesWritten += len;
    }
    return { reasons, bytesWritten, writeMs: performance.now() - started };
  },
  /**
   * Opens chunks back to back into `out` (room for rawBytes(chunks)) and plans the writes of the
   * sound ones: [descriptor, file offset, offset in out, length], neighbours in both file and
   * buffer merged; runs of DIRECT_RUN_MIN or more, block-aligned in memory and file, go through the
   * target's direct descriptor, shorter ones through the page cache (a direct write waits for the device).
   */
  decodeForFile(setup: ProcessorSetup, data: Uint8Array, chunks: ChunkToRestore[], key: Buffer, file: FileTarget, out: Buffer): { reasons: Array<string | null>; writes: FileWrite[] } {
    const reasons: Array<string | null> = [];
    const pieces: Array<[number, number, number]> = [];
    let offset = 0;
    for (const c of chunks) {
      const idKey = c.kind === 1 ? setup.treeIdKey : setup.chunkIdKey;
      const r = openChunk(data.subarray(c.start, c.start + c.length), c.id, c.kind, c.flags, c.rawLength, key, idKey, out, offset);
      reasons.push(r.ok ? null : r.reason);
      if (r.ok) {
        for (const t of c.targets) {
          const len = Math.min(c.rawLength, file.size - t);
          if (len > 0) pieces.push([t, offset, len]);
        }
      }
      offset += c.rawLength;
    }
    return { reasons, writes: planWrites(file, out, pieces) };
  },
};

/** One positioned write of a restore: [descriptor, file offset, offset in the buffer, length]. */
export type FileWrite = [number, number, number, number];

/** Bytes that the chunks open to, back to back. */
export const rawBytes = (chunks: ChunkToOpen[]): number => chunks.reduce((a, c) => a + c.rawLength, 0);

/** Shorter runs are written through the page cache. */
const DIRECT_RUN_MIN = 256 * 1024;

// Page-aligned, so restored runs can be written to the target with O_DIRECT. Reserved at
// SCRATCH_MIN at once and doubled beyond: only the pages a task touches become resident, while
// growing step by step to each larger task left every outgrown buffer resident until the thread's
// next major GC (4 GiB restore: ~100 MiB of peak RSS).
const SCRATCH_MIN = 16 * 1024 * 1024;
let scratch: Buffer = Buffer.alloc(0);
function scratchOf(n: number): Buffer {
  if (scratch.length < n) scratch = scratchBuffer(n, scratch.length);
  return scratch;
}

/** A page-aligned scratch buffer of at least `n` bytes: SCRATCH_MIN, or `outgrown` doubled until it fits. */
export function scratchBuffer(n: number, outgrown = 0): Buffer {
  let size = Math.max(SCRATCH_MIN, outgrown);
  while (size < n) size *= 2;
  return allocAligned(size);
}

/** Merges pieces [file offset, buffer offset, length] that are neighbours in both file and buffer, and picks each run's descriptor. */
function planWrites(file: FileTarget, buf: Buffer, pieces: Array<[number, number, number]>): FileWrite[] {
  const direct = file.directFd !== undefined && file.directFd !== null && isAligned(buf) ? file.directFd : null;
  pieces.sort((a, b) => a[0] - b[0]);
  const writes: FileWrite[] = [];
  for (let i = 0; i < pieces.length; ) {
    const [at, from] = pieces[i];
    let len = pieces[i][2];
    let j = i + 1;
    while (j < pieces.length && pieces[j][0] === at + len && pieces[j][1] === from + len) len += pieces[j++][2];
    const aligned = at % DIRECT_ALIGN === 0 && from % DIRECT_ALIGN === 0 && len % DIRECT_ALIGN === 0;
    writes.push([direct !== null && aligned && len >= DIRECT_RUN_MIN ? direct : file.fd, at, from, len]);
    i = j;
  }
  return writes;
}

/** Runs everything on the calling thread: for tests and small jobs. */
export class InlineBlockProcessor implements BlockProcessor {
  readonly lanes = 1;
  busyMs = 0;
  readonly #setup: ProcessorSetup;
  constructor(setup: ProcessorSetup) {
    this.#setup = setup;
  }
  async hashBlocks(data: Uint8Array, blockSize: number): Promise<HashedChunk[][]> {
    return this.#timed(() => processorOps.hash(this.#setup, data, blockSize));
  }
  async sealChunks(data: Uint8Array, chunks: ChunkToSeal[], kind: number, key: Buffer): Promise<SealedChunk[]> {
    return this.#timed(() => processorOps.seal(this.#setup, data, chunks, kind, key));
  }
  async openChunks(data: Uint8Array, chunks: ChunkToOpen[], key: Buffer, keepData: boolean): Promise<OpenResult[]> {
    return this.#timed(() => processorOps.open(this.#setup, data, chunks, key, keepData));
  }
  async openToFile(data: Uint8Array, chunks: ChunkToRestore[], key: Buffer, file: FileTarget): Promise<FileWriteResult> {
    const r = this.#timed(() => processorOps.openToFile(this.#setup, data, chunks, key, file));
    this.busyMs -= r.writeMs;
    return r;
  }
  #timed<T>(fn: () => T): T {
    const t = performance.now();
    try {
      return fn();
    } finally {
      this.busyMs += performance.now() - t;
    }
  }
  async close(): Promise<void> {}
}
