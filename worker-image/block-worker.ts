// Worker-thread entry of the thread block processor: runs core's pure per-block operations.
// Results travel back as one transferred buffer plus small tables, so no per-chunk copy is made.
import { workerData } from 'node:worker_threads';
import { decodeToSeal, encodeHashed, encodeSealed } from './chunk-tables.ts';
import { Piscina } from 'piscina';
import { write } from 'node:fs';
import { processorOps, rawBytes, scratchBuffer, type ChunkToOpen, type ChunkToRestore, type ChunkToSeal, type FileTarget, type ProcessorSetup } from '../core/engine/block-processor.ts';

// The setup arrives in shared memory once the repository is open (the thread may start earlier,
// while the key is derived); it is written before the first task is sent.
const { setupBuffer } = workerData as { setupBuffer: SharedArrayBuffer };
let current: ProcessorSetup | null = null;
function setupNow(): ProcessorSetup {
  if (current) return current;
  const length = new Int32Array(setupBuffer, 0, 1)[0];
  if (length <= 0) throw new Error('block worker: a task arrived before the processor setup');
  const raw = JSON.parse(Buffer.from(new Uint8Array(setupBuffer, 4, length)).toString('utf8')) as Omit<ProcessorSetup, 'chunkIdKey' | 'treeIdKey'> & { chunkIdKey: string; treeIdKey: string };
  current = { ...raw, chunkIdKey: Buffer.from(raw.chunkIdKey, 'hex'), treeIdKey: Buffer.from(raw.treeIdKey, 'hex') };
  return current;
}
const asBuffer = (u: Uint8Array): Buffer => Buffer.from(u.buffer, u.byteOffset, u.byteLength);
const fixIds = <T extends { id: Uint8Array }>(list: T[]): T[] => list.map((c) => ({ ...c, id: asBuffer(c.id) }));

/** Marks buffers to be moved with the result instead of copied (piscina's transferable protocol). */
function moving<T extends object>(value: T, buffer: ArrayBuffer, also: ArrayBuffer | null = null): T {
  return Piscina.move({ [Piscina.transferableSymbol]: also ? [buffer, also] : [buffer], [Piscina.valueSymbol]: value } as never) as unknown as T;
}

/** Packs buffers into one ArrayBuffer that is moved, not copied, to the caller. */
function packed(parts: Buffer[]) {
  const lengths = parts.map((p) => p.length);
  const all = Buffer.allocUnsafeSlow(lengths.reduce((a, b) => a + b, 0));
  let o = 0;
  for (const p of parts) {
    p.copy(all, o);
    o += p.length;
  }
  return { lengths, data: all.buffer };
}

export function hash(task: { data: Uint8Array; blockSize: number }) {
  const t = performance.now();
  const blocks = processorOps.hash(setupNow(), task.data, task.blockSize);
  const table = encodeHashed(blocks);
  return moving({ table, ms: performance.now() - t }, table);
}

/**
 * Seals the chunks of `table` (encodeToSeal) into `out` (a buffer moved here by the caller for
 * reuse) when it has room; the results' buffer is moved back with [flags, rawLength, length] per chunk.
 */
export function seal(task: { data: Uint8Array; table: ArrayBuffer; kind: number; key: Uint8Array; out?: ArrayBuffer }) {
  const t = performance.now();
  const out = processorOps.seal(setupNow(), task.data, decodeToSeal(task.table), task.kind, asBuffer(task.key), task.out ? new Uint8Array(task.out) : undefined);
  // The sealed chunks lie back to back from the start of one buffer: move it whole.
  const data = out.length > 0 ? (out[0].sealed.buffer as ArrayBuffer) : (task.out ?? new ArrayBuffer(0));
  const sizes = encodeSealed(out);
  return moving({ sizes, data, ms: performance.now() - t }, data, sizes.buffer);
}

/** A task's input: a view, or a moved buffer with the range that holds the input. */
interface Input {
  data: Uint8Array | ArrayBuffer;
  at?: number;
  length?: number;
}
const inputOf = (t: Input): Uint8Array => (t.data instanceof ArrayBuffer ? new Uint8Array(t.data, t.at ?? 0, t.length ?? t.data.byteLength - (t.at ?? 0)) : t.data);

export function open(task: Input & { chunks: ChunkToOpen[]; key: Uint8Array; keepData: boolean }) {
  const t = performance.now();
  const input = inputOf(task);
  const out = processorOps.open(setupNow(), input, fixIds(task.chunks), asBuffer(task.key), task.keepData);
  // With keepData, every chunk's data already lies in one buffer of its own, back to back.
  const first = out.find((r) => r.ok && r.data.length > 0);
  const whole = task.keepData && first?.ok ? first.data.buffer : null;
  const { lengths, data } = whole
    ? { lengths: task.chunks.map((c) => c.rawLength), data: whole as ArrayBuffer }
    : packed(out.map((r) => (r.ok ? r.data : Buffer.alloc(0))));
  // A moved-in input goes back too, for the caller to read its next input into.
  const back = task.data instanceof ArrayBuffer && task.data !== data ? task.data : null;
  return moving({ reasons: out.map((r) => (r.ok ? null : r.reason)), lengths, data, input: back, ms: performance.now() - t }, data, back);
}

/** Scratch buffers of this thread's restore tasks (page-aligned for direct writes); two tasks may be in flight. */
const scratches: Buffer[] = [];

/** Writes all of `len` bytes of buf[from...] at file offset `at` through the thread pool. */
async function writeAll(fd: number, buf: Buffer, from: number, len: number, at: number): Promise<void> {
  for (let done = 0; done < len; ) {
    done += await new Promise<number>((resolve, reject) => write(fd, buf, from + done, len - done, at + done, (err, n) => (err ? reject(err) : resolve(n))));
  }
}

/**
 * Opens and writes to the file from this thread; only the verdicts go back. The writes run in the
 * background of the thread, so it opens the next task's chunks (two tasks per thread) while the
 * device takes this one's: a direct write waits for the device.
 */
export async function openToFile(task: Input & { chunks: ChunkToRestore[]; key: Uint8Array; file: FileTarget }) {
  const t = performance.now();
  const input = inputOf(task);
  const need = rawBytes(task.chunks);
  const i = scratches.findIndex((b) => b.length >= need);
  const out = i >= 0 ? scratches.splice(i, 1)[0] : scratchBuffer(need);
  try {
    const { reasons, writes } = processorOps.decodeForFile(setupNow(), input, fixIds(task.chunks), asBuffer(task.key), task.file, out);
    const ms = performance.now() - t;
    const started = performance.now();
    // Every write settles before `out` can serve another task; then the first failure, if any, fails this one.
    const settled = await Promise.allSettled(writes.map(([fd, at, from, len]) => writeAll(fd, out, from, len, at)));
    const failed = settled.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    // A moved-in pack piece goes back to the caller for reuse.
    const back = task.data instanceof ArrayBuffer ? task.data : null;
    const result = { reasons, bytesWritten: writes.reduce((a, w) => a + w[3], 0), writeMs: performance.now() - started, input: back, ms };
    return back ? moving(result, back) : result;
  } finally {
    if (scratches.length < 2) scratches.push(out);
  }
}
