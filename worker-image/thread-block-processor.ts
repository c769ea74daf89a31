// Block processor on a pool of worker threads (piscina), so compression spreads over every core.
import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import type { BlockProcessor, ChunkToOpen, ChunkToRestore, ChunkToSeal, FileTarget, FileWriteResult, ProcessorSetup } from '../core/engine/block-processor.ts';
import { sealedBound, type HashedChunk, type OpenResult, type SealedChunk } from '../core/repo/block-codec.ts';
import { releaseBuffer } from '../core/util/release-buffer.ts';
import { decodeHashed, decodeSealed, encodeToSeal } from './chunk-tables.ts';

/** Splits a moved buffer back into parts. */
function unpack(data: ArrayBuffer, lengths: number[]): Buffer[] {
  const out: Buffer[] = [];
  let o = 0;
  for (const n of lengths) {
    out.push(Buffer.from(data, o, n));
    o += n;
  }
  return out;
}

/**
 * A task with `data`: a buffer of its own, or a view of a buffer this processor lent out
 * (spareBuffer), is moved to the thread instead of copied (a pack piece in restore and verify).
 */
function withData(data: Uint8Array, rest: object, lent: WeakSet<ArrayBuffer>): object {
  const buffer = data.buffer;
  const whole = data.byteOffset === 0 && data.byteLength === buffer.byteLength;
  const movable = buffer instanceof ArrayBuffer && (whole || lent.has(buffer));
  if (!movable) return { ...rest, data };
  return movingTask({ ...rest, data: buffer, at: data.byteOffset, length: data.byteLength }, buffer);
}

/** Marks buffers to be moved to the thread with `task` instead of copied (piscina's transferable protocol). */
function movingTask(task: object, ...buffers: ArrayBuffer[]): object {
  // piscina unwraps a movable only at the top of a task, so the whole task is the transferable.
  return Piscina.move({ [Piscina.transferableSymbol]: buffers, [Piscina.valueSymbol]: task } as never) as object;
}

/** Buffers kept for reuse at most (beyond those in flight). */
const SPARE_MAX = (lanes: number): number => lanes * 2 + 4;

/** Bytes of a new lent buffer: a power of two of at least 1 MiB. */
const sizeClass = (bytes: number): number => 2 ** Math.max(20, Math.ceil(Math.log2(Math.max(1, bytes))));

export class ThreadBlockProcessor implements BlockProcessor {
  readonly lanes: number;
  readonly #setup: Promise<ProcessorSetup>;
  /** Shared with the threads: [byte length][JSON of the setup], written once before the first task. */
  readonly #setupBuffer = new SharedArrayBuffer(4 + 8192);
  #configured: Promise<void> | null = null;
  /** Started by the first task (or warm()), so a command that ends up with nothing to process starts no thread. */
  #pool: Piscina | null = null;
  /**
   * Buffers handed back (seal results via recycle(), inputs of open tasks by the threads), reused by
   * later sealChunks calls and reads (spareBuffer) instead of new allocations; about the tasks in flight.
   */
  readonly #spare: ArrayBuffer[] = [];
  /** Buffers given out by spareBuffer: views of them may be moved to a thread whole. */
  readonly #lent = new WeakSet<ArrayBuffer>();
  /** Milliseconds the threads spent working (not queueing), summed. */
  busyMs = 0;
  /** `setup` may still be coming (the repository opening): threads can start before it, see warm(). */
  constructor(setup: ProcessorSetup | Promise<ProcessorSetup>, threads = availableParallelism()) {
    this.lanes = Math.max(1, threads);
    this.#setup = Promise.resolve(setup);
    this.#setup.catch(() => undefined); // a setup that never comes only means no task ever runs
  }
  /** Starts every thread now (they load their modules while, e.g., the repository's key is derived). */
  warm(): void {
    this.#start(this.lanes);
  }
  #start(minThreads: number): Piscina {
    this.#pool ??= new Piscina({
      // The same extension as this module: .ts when run from source, .js from the build.
      filename: new URL(`./block-worker${import.meta.url.slice(import.meta.url.lastIndexOf('.'))}`, import.meta.url).href,
      // One thread at first unless warmed; piscina adds threads (up to lanes) while tasks wait, so a
      // small job (a few changed blocks) does not pay for starting a thread per core.
      minThreads,
      maxThreads: this.lanes,
      idleTimeout: 60_000,
      // Two tasks per thread: a restore task's writes overlap the next task's decoding (the other
      // tasks are synchronous and simply queue).
      concurrentTasksPerWorker: 2,
      // No resourceLimits: a small young generation promotes task buffers to the old space, where
      // they wait for a major GC (measured: +60-100 MiB peak RSS in a full backup).
      workerData: { setupBuffer: this.#setupBuffer },
    });
    return this.#pool;
  }
  async #configure(): Promise<void> {
    const s = await this.#setup;
    const json = Buffer.from(JSON.stringify({ ...s, chunkIdKey: s.chunkIdKey.toString('hex'), treeIdKey: s.treeIdKey.toString('hex') }));
    if (json.length > this.#setupBuffer.byteLength - 4) throw new RangeError(`processor setup of ${json.length} bytes does not fit its shared buffer`);
    new Uint8Array(this.#setupBuffer, 4, json.length).set(json);
    Atomics.store(new Int32Array(this.#setupBuffer, 0, 1), 0, json.length);
  }
  async #run(task: object, name: string): Promise<unknown> {
    await (this.#configured ??= this.#configure());
    return this.#start(1).run(task, { name });
  }
  async hashBlocks(data: Uint8Array, blockSize: number): Promise<HashedChunk[][]> {
    const r = (await this.#run({ data, blockSize }, 'hash')) as { table: ArrayBuffer; ms: number };
    this.busyMs += r.ms;
    return decodeHashed(r.table);
  }
  async sealChunks(data: Uint8Array, chunks: ChunkToSeal[], kind: number, key: Buffer): Promise<SealedChunk[]> {
    // A recycled result buffer with room goes along (moved, not copied) for the thread to seal into.
    const out = this.#take(chunks.reduce((a, c) => a + sealedBound(c.length), 0));
    const table = encodeToSeal(chunks);
    const task = { data, table, kind, key, out };
    const r = (await this.#run(out ? movingTask(task, out, table) : movingTask(task, table), 'seal')) as { sizes: Uint32Array; data: ArrayBuffer; ms: number };
    this.busyMs += r.ms;
    return decodeSealed(r.sizes, r.data);
  }
  recycle(sealed: SealedChunk[]): void {
    this.#keep(sealed[0]?.sealed.buffer);
  }
  spareBuffer(bytes: number): Buffer | undefined {
    // None spare: a new one of the size class, so every buffer in this loop serves any later read
    // (reads of exact sizes left outgrown ones to the GC: ~50 MiB of peak RSS in a 4 GiB verify).
    const buffer = this.#take(bytes) ?? new ArrayBuffer(sizeClass(bytes));
    this.#lent.add(buffer);
    return Buffer.from(buffer);
  }
  /** A kept buffer of at least `bytes`, taken off the spare list. */
  #take(bytes: number): ArrayBuffer | undefined {
    const i = this.#spare.findIndex((b) => b.byteLength >= bytes);
    return i >= 0 ? this.#spare.splice(i, 1)[0] : undefined;
  }
  #keep(buffer: ArrayBufferLike | null | undefined): void {
    if (!(buffer instanceof ArrayBuffer) || buffer.byteLength === 0 || this.#spare.includes(buffer)) return;
    if (this.#spare.length < SPARE_MAX(this.lanes)) this.#spare.push(buffer);
    // One too many: freed now rather than at the next GC, so it is not resident beside its replacements.
    else releaseBuffer(new Uint8Array(buffer));
  }
  async openChunks(data: Uint8Array, chunks: ChunkToOpen[], key: Buffer, keepData: boolean): Promise<OpenResult[]> {
    const r = (await this.#run(withData(data, { chunks, key, keepData }, this.#lent), 'open')) as {
      reasons: Array<string | null>;
      lengths: number[];
      data: ArrayBuffer;
      input: ArrayBuffer | null;
      ms: number;
    };
    this.busyMs += r.ms;
    this.#keep(r.input);
    return unpack(r.data, r.lengths).map((d, i) => (r.reasons[i] === null ? { ok: true, data: d } : { ok: false, reason: r.reasons[i]! }));
  }
  async openToFile(data: Uint8Array, chunks: ChunkToRestore[], key: Buffer, file: FileTarget): Promise<FileWriteResult> {
    const r = (await this.#run(withData(data, { chunks, key, file }, this.#lent), 'openToFile')) as FileWriteResult & { input: ArrayBuffer | null; ms: number };
    this.busyMs += r.ms;
    this.#keep(r.input);
    return { reasons: r.reasons, bytesWritten: r.bytesWritten, writeMs: r.writeMs };
  }
  async close(): Promise<void> {
    const pool = this.#pool;
    this.#pool = null;
    await pool?.close();
  }
}
