// Seeded, reproducible disk images (holes, text, random, duplicates) for tests, demo and benchmark.
import { open, type FileHandle } from 'node:fs/promises';
import { InvalidArgumentError, throwIfAborted } from '../../core/errors.ts';
import { readFully, writeFully } from './image-files.ts';
import { SeededRandom, type Seed } from './seeded-random.ts';
import { fillText } from './text-pool.ts';

export type ExtentKind = 'zero' | 'text' | 'random' | 'duplicate';

export interface ImageExtent {
  offset: number;
  length: number;
  kind: ExtentKind;
  /** For a duplicate: where the copied bytes were taken from (an earlier non-zero extent). */
  sourceOffset?: number;
}

export interface GenerateOptions {
  size: number;
  seed: Seed;
  /** Relative weights of the extent kinds by bytes; normalised to sum 1. */
  zeroFraction?: number;
  textFraction?: number;
  randomFraction?: number;
  duplicateFraction?: number;
  /** Called after each large write with the bytes laid down so far (holes included). */
  onProgress?: (done: number, size: number) => void;
  signal?: AbortSignal;
}

export interface GeneratedImage {
  size: number;
  extents: ImageExtent[];
  bytesByKind: Record<ExtentKind, number>;
}

const KiB = 1024;
const MiB = 1024 * KiB;
const ALIGN = 4 * KiB;
const MIN_EXTENT = 64 * KiB;
const MAX_EXTENT = 4 * MiB;
const MIN_DUPLICATE = 256 * KiB;
// Large sequential writes keep the generator near memory speed.
const WRITE_CHUNK = 8 * MiB;
const KINDS: readonly ExtentKind[] = ['zero', 'text', 'random', 'duplicate'];

/** Writes a `size`-byte image at path (replacing any file there); same seed, same bytes. */
export async function generateImage(path: string, options: GenerateOptions): Promise<GeneratedImage> {
  const { size, seed } = options;
  if (!Number.isSafeInteger(size) || size < 0) throw new InvalidArgumentError(`image size ${size}: expected a non-negative integer`);
  const image = planExtents(size, seed, fractionsOf(options));
  const textRng = new SeededRandom(seed, 'text');
  const randomRng = new SeededRandom(seed, 'random');
  // 'w+' because duplicates read back what was already written.
  const handle = await open(path, 'w+');
  try {
    const out = new SequentialWriter(handle, (done) => options.onProgress?.(done, size));
    for (const extent of image.extents) {
      throwIfAborted(options.signal);
      if (extent.kind === 'zero') {
        // Never written, so the file keeps a hole there.
        await out.skip(extent.length);
      } else if (extent.kind === 'text') {
        await out.produce(extent.length, (target) => fillText(textRng, target));
      } else if (extent.kind === 'random') {
        await out.produce(extent.length, (target) => void randomRng.bytes(target.length).copy(target));
      } else {
        // The source lies wholly before this extent, so after a flush it is all in the file.
        await out.flush();
        const source = extent.sourceOffset ?? 0;
        await out.produce(extent.length, async (target, done) => void (await readFully(handle, target, source + done)));
      }
    }
    await out.flush();
    await handle.truncate(size);
  } finally {
    await handle.close();
  }
  return image;
}

type Fractions = Record<ExtentKind, number>;

function fractionsOf(options: GenerateOptions): Fractions {
  const raw: Fractions = {
    zero: options.zeroFraction ?? 0.35,
    text: options.textFraction ?? 0.35,
    random: options.randomFraction ?? 0.2,
    duplicate: options.duplicateFraction ?? 0.1,
  };
  let total = 0;
  for (const kind of KINDS) {
    const value = raw[kind];
    if (!Number.isFinite(value) || value < 0) throw new InvalidArgumentError(`${kind}Fraction ${value}: expected a number >= 0`);
    total += value;
  }
  if (total <= 0) throw new InvalidArgumentError('extent fractions: expected at least one to be > 0');
  for (const kind of KINDS) raw[kind] /= total;
  return raw;
}

/** The extent layout alone (no bytes); drawn from its own stream so content draws cannot shift it. */
function planExtents(size: number, seed: Seed, fractions: Fractions): GeneratedImage {
  const rng = new SeededRandom(seed, 'layout');
  const extents: ImageExtent[] = [];
  const bytesByKind: Record<ExtentKind, number> = { zero: 0, text: 0, random: 0, duplicate: 0 };
  // Earlier non-zero extents long enough to be a duplicate's source.
  const sources: ImageExtent[] = [];
  const alignedLength = (min: number, max: number): number => rng.int(min / ALIGN, max / ALIGN + 1) * ALIGN;
  let offset = 0;
  while (offset < size) {
    const remaining = size - offset;
    const kind = drawKind(rng, fractions, bytesByKind, offset, sources.length > 0 && remaining >= MIN_DUPLICATE);
    let extent: ImageExtent;
    if (kind === 'duplicate') {
      const source = sources[rng.int(0, sources.length)];
      const length = alignedLength(MIN_DUPLICATE, Math.min(MAX_EXTENT, source.length, Math.floor(remaining / ALIGN) * ALIGN));
      const sourceOffset = source.offset + rng.int(0, (source.length - length) / ALIGN + 1) * ALIGN;
      extent = { offset, length, kind, sourceOffset };
    } else {
      extent = { offset, length: Math.min(alignedLength(MIN_EXTENT, MAX_EXTENT), remaining), kind };
    }
    extents.push(extent);
    bytesByKind[kind] += extent.length;
    if (kind !== 'zero' && extent.length >= MIN_DUPLICATE) sources.push(extent);
    offset += extent.length;
  }
  return { size, extents, bytesByKind };
}

/**
 * Draws a kind with probability proportional to how far it lags its target share. Plain draws
 * by the fractions would be off by tens of percent on a small image of ~30 multi-MiB extents.
 */
function drawKind(rng: SeededRandom, fractions: Fractions, done: Record<ExtentKind, number>, offset: number, duplicateAllowed: boolean): ExtentKind {
  const horizon = offset + (MIN_EXTENT + MAX_EXTENT) / 2;
  const weights = KINDS.map((kind) => {
    if (kind === 'duplicate' && !duplicateAllowed) return 0;
    return Math.max(0, fractions[kind] * horizon - done[kind]);
  });
  let total = weights.reduce((a, b) => a + b, 0);
  if (total === 0) {
    // Every kind is at or above its share; fall back to the plain fractions.
    for (let i = 0; i < KINDS.length; i++) weights[i] = KINDS[i] === 'duplicate' && !duplicateAllowed ? 0 : fractions[KINDS[i]];
    total = weights.reduce((a, b) => a + b, 0);
    if (total === 0) return 'text';
  }
  let pick = rng.next() * total;
  for (let i = 0; i < KINDS.length; i++) {
    pick -= weights[i];
    if (pick < 0 && weights[i] > 0) return KINDS[i];
  }
  return KINDS[weights.findLastIndex((w) => w > 0)];
}

/** Buffers sequential output into big writes; skipping flushes and leaves a hole. */
class SequentialWriter {
  private readonly handle: FileHandle;
  private readonly onProgress: (done: number) => void;
  private readonly buffer = Buffer.allocUnsafe(WRITE_CHUNK);
  private start = 0;
  private used = 0;

  constructor(handle: FileHandle, onProgress: (done: number) => void) {
    this.handle = handle;
    this.onProgress = onProgress;
  }

  /** Appends `length` bytes that fill() writes into successive pieces of the buffer. */
  async produce(length: number, fill: (target: Buffer, done: number) => void | Promise<void>): Promise<void> {
    let done = 0;
    while (done < length) {
      const n = Math.min(length - done, WRITE_CHUNK - this.used);
      await fill(this.buffer.subarray(this.used, this.used + n), done);
      this.used += n;
      done += n;
      if (this.used === WRITE_CHUNK) await this.flush();
    }
  }

  async skip(length: number): Promise<void> {
    await this.flush();
    this.start += length;
    this.onProgress(this.start);
  }

  async flush(): Promise<void> {
    if (this.used === 0) return;
    await writeFully(this.handle, this.buffer.subarray(0, this.used), this.start);
    this.start += this.used;
    this.used = 0;
    this.onProgress(this.start);
  }
}

/** Where mutateImage reads and writes: a file, or e.g. a LocalVolumeProvider volume. */
export interface ImageAccess {
  readonly size: number;
  write(offset: number, data: Uint8Array): Promise<void>;
  /** When given, every rewrite is checked to really differ from the bytes it replaces. */
  read?(offset: number, length: number): Promise<Uint8Array>;
}

export interface MutateOptions {
  seed: Seed;
  /** Share of distinct blocks to change; at least one block when > 0. */
  blockFraction?: number;
  blockSize?: number;
  signal?: AbortSignal;
}

/**
 * Rewrites part or all of about blockFraction of the image's blocks with new text or random
 * bytes and returns the changed block indexes, sorted. `target` is a file path or an ImageAccess
 * (so the demo can route writes through LocalVolumeProvider.writeVolume for change tracking).
 */
export async function mutateImage(target: string | ImageAccess, options: MutateOptions): Promise<number[]> {
  const { seed, blockFraction = 0.02, blockSize = 512 * KiB } = options;
  if (!Number.isFinite(blockFraction) || blockFraction < 0 || blockFraction > 1) {
    throw new InvalidArgumentError(`blockFraction ${blockFraction}: expected a number from 0 to 1`);
  }
  if (!Number.isSafeInteger(blockSize) || blockSize < ALIGN || blockSize % ALIGN !== 0) {
    throw new InvalidArgumentError(`blockSize ${blockSize}: expected a positive multiple of ${ALIGN}`);
  }
  if (typeof target !== 'string') return mutate(target, seed, blockFraction, blockSize, options.signal);
  const handle = await open(target, 'r+');
  try {
    const access: ImageAccess = {
      size: (await handle.stat()).size,
      write: (offset, data) => writeFully(handle, data, offset),
      read: async (offset, length) => {
        const buffer = Buffer.alloc(length);
        await readFully(handle, buffer, offset);
        return buffer;
      },
    };
    return await mutate(access, seed, blockFraction, blockSize, options.signal);
  } finally {
    await handle.close();
  }
}

async function mutate(access: ImageAccess, seed: Seed, fraction: number, blockSize: number, signal: AbortSignal | undefined): Promise<number[]> {
  const blockCount = Math.ceil(access.size / blockSize);
  const wanted = fraction > 0 && blockCount > 0 ? Math.min(blockCount, Math.max(1, Math.round(fraction * blockCount))) : 0;
  const rng = new SeededRandom(seed, 'mutate');
  const blocks = sampleDistinct(rng, blockCount, wanted);
  for (const block of blocks) {
    throwIfAborted(signal);
    const blockStart = block * blockSize;
    const blockEnd = Math.min(access.size, blockStart + blockSize);
    let start = blockStart;
    let end = blockEnd;
    if (rng.next() < 0.5) {
      // A partial rewrite: a 4 KiB-aligned run inside the block, like a file system updating a few pages.
      const pages = Math.ceil((blockEnd - blockStart) / ALIGN);
      const first = rng.int(0, pages);
      start = blockStart + first * ALIGN;
      end = Math.min(blockEnd, start + rng.int(1, pages - first + 1) * ALIGN);
    }
    let data: Buffer;
    if (rng.next() < 0.6) {
      data = Buffer.allocUnsafe(end - start);
      fillText(rng, data);
    } else {
      data = rng.bytes(end - start);
    }
    if (access.read) {
      const before = await access.read(start, data.length);
      if (Buffer.from(before.buffer, before.byteOffset, before.byteLength).equals(data)) data[0] ^= 0xff;
    }
    await access.write(start, data);
  }
  return blocks;
}

/** `count` distinct integers from [0, n), sorted (Floyd's algorithm: no n-sized array). */
function sampleDistinct(rng: SeededRandom, n: number, count: number): number[] {
  const chosen = new Set<number>();
  for (let j = n - count; j < n; j++) {
    const t = rng.int(0, j + 1);
    chosen.add(chosen.has(t) ? j : t);
  }
  return [...chosen].sort((a, b) => a - b);
}
