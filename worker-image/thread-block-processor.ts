// Block processor on a pool of worker threads (piscina), so compression spreads over every core.
import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import type { BlockProcessor, ChunkToOpen, ChunkToSeal, ProcessorSetup } from '../core/engine/block-processor.ts';
import type { HashedChunk, OpenResult, SealedChunk } from '../core/repo/block-codec.ts';

const asBuffer = (u: Uint8Array): Buffer => Buffer.from(u.buffer, u.byteOffset, u.byteLength);

export class ThreadBlockProcessor implements BlockProcessor {
  readonly lanes: number;
  readonly #pool: Piscina;
  constructor(setup: ProcessorSetup, threads = availableParallelism()) {
    this.lanes = Math.max(1, threads);
    this.#pool = new Piscina({
      filename: new URL('./block-worker.ts', import.meta.url).href,
      minThreads: this.lanes,
      maxThreads: this.lanes,
      idleTimeout: 60_000,
      workerData: setup,
    });
  }
  async hashBlocks(data: Uint8Array, blockSize: number): Promise<HashedChunk[][]> {
    const blocks = (await this.#pool.run({ data, blockSize }, { name: 'hash' })) as HashedChunk[][];
    for (const b of blocks) for (const c of b) if (c.id) c.id = asBuffer(c.id);
    return blocks;
  }
  async sealChunks(data: Uint8Array, chunks: ChunkToSeal[], kind: number, key: Buffer): Promise<SealedChunk[]> {
    const out = (await this.#pool.run({ data, chunks, kind, key }, { name: 'seal' })) as SealedChunk[];
    for (const s of out) s.sealed = asBuffer(s.sealed);
    return out;
  }
  async openChunks(data: Uint8Array, chunks: ChunkToOpen[], key: Buffer, keepData: boolean): Promise<OpenResult[]> {
    const out = (await this.#pool.run({ data, chunks, key, keepData }, { name: 'open' })) as OpenResult[];
    for (const r of out) if (r.ok) r.data = asBuffer(r.data);
    return out;
  }
  async close(): Promise<void> {
    await this.#pool.close();
  }
}
