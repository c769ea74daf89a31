// The block-processor port: the CPU work of backup, restore and verify, run inline or on worker threads.
import type { ChunkingParams } from '../repo/config.ts';
import { hashBlock, openChunk, sealChunk, type HashedChunk, type OpenResult, type SealedChunk } from '../repo/block-codec.ts';

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

export interface BlockProcessor {
  /** Number of parallel lanes; callers size their in-flight work by it. */
  readonly lanes: number;
  /** Milliseconds the lanes spent computing (not waiting), summed over lanes. */
  readonly busyMs: number;
  /** Hashes `data`, a run of whole blocks of `blockSize`; returns each block's chunks. */
  hashBlocks(data: Uint8Array, blockSize: number): Promise<HashedChunk[][]>;
  sealChunks(data: Uint8Array, chunks: ChunkToSeal[], kind: number, key: Buffer): Promise<SealedChunk[]>;
  /**
   * Opens chunks; with `keepData` false returns only whether each is sound (verify). `data` may be
   * handed over to another thread (its buffer detached): the caller must not use it afterwards.
   */
  openChunks(data: Uint8Array, chunks: ChunkToOpen[], key: Buffer, keepData: boolean): Promise<OpenResult[]>;
  close(): Promise<void>;
}

/** Pure functions shared by the inline processor and the worker-thread entry. */
export const processorOps = {
  hash(setup: ProcessorSetup, data: Uint8Array, blockSize: number): HashedChunk[][] {
    const out: HashedChunk[][] = [];
    for (let off = 0; off < data.length; off += blockSize) out.push(hashBlock(data.subarray(off, off + blockSize), setup.chunking, setup.chunkIdKey));
    return out;
  },
  seal(setup: ProcessorSetup, data: Uint8Array, chunks: ChunkToSeal[], kind: number, key: Buffer): SealedChunk[] {
    return chunks.map((c) => sealChunk(data.subarray(c.offset, c.offset + c.length), c.id, kind, key, setup.compressionLevel));
  },
  /** Opens chunks; with keepData their data lands back to back in one buffer, in the order given. */
  open(setup: ProcessorSetup, data: Uint8Array, chunks: ChunkToOpen[], key: Buffer, keepData: boolean): OpenResult[] {
    const scratch = keepData ? null : Buffer.allocUnsafe(Math.max(0, ...chunks.map((c) => c.rawLength)));
    const out = keepData ? Buffer.allocUnsafeSlow(chunks.reduce((a, c) => a + c.rawLength, 0)) : null;
    let offset = 0;
    return chunks.map((c) => {
      const idKey = c.kind === 1 ? setup.treeIdKey : setup.chunkIdKey;
      const r = openChunk(data.subarray(c.start, c.start + c.length), c.id, c.kind, c.flags, c.rawLength, key, idKey, out ?? scratch!, out ? offset : 0);
      offset += c.rawLength;
      return r.ok && !keepData ? { ok: true, data: Buffer.alloc(0) } : r;
    });
  },
};

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
