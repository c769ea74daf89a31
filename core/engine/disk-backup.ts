// One disk of a backup: plan which blocks to read, run them through the pipeline, build the block map.
import type { Clock } from '../clock.ts';
import { InvalidArgumentError, throwIfAborted } from '../errors.ts';
import { SegmentBuilder } from '../repo/block-map.ts';
import { CHUNK_KIND } from '../repo/block-codec.ts';
import type { IdTable } from '../repo/id-table.ts';
import { ChunkIndex } from '../repo/index-file.ts';
import type { DiskManifest } from '../repo/manifest.ts';
import type { PackWriter } from '../repo/pack-writer.ts';
import type { Repository } from '../repo/repository.ts';
import type { BlockList, SnapshotInfo, SnapshotSource } from '../snapshot/snapshot-source.ts';
import { mapLimit, Semaphore } from '../util/concurrency.ts';
import type { DiskToBackUp } from './backup.ts';
import type { BlockProcessor, ChunkToSeal } from './block-processor.ts';
import type { BufferPool } from './buffer-pool.ts';
import type { ProgressListener } from './progress.ts';
import type { PipelineTimers } from './stage-timer.ts';

/** Blocks per block-map segment: 1024 x 512 KiB = 512 MiB of disk per tree chunk. */
export const SEGMENT_BLOCKS = 1024;
/** Segments of a disk worked on at once (each holds its block map, ~1 MiB of objects at most). */
const SEGMENTS_IN_FLIGHT = 8;

export interface DiskCounters {
  bytesTotal: number;
  bytesRead: number;
  bytesZero: number;
  bytesNew: number;
  chunksNew: number;
  chunksReused: number;
  blocksRead: number;
}

export interface DiskBackupDeps {
  repo: Repository;
  index: ChunkIndex;
  source: SnapshotSource;
  processor: BlockProcessor;
  clock: Clock;
  timers: PipelineTimers;
  packs: PackWriter;
  pool: BufferPool;
  batchBlocks: number;
  /** Chunks this session stores (claimed, maybe not yet written). */
  session: IdTable;
  reused: Map<string, Set<string>>;
  /** Parent block-map trees whose chunks this backup keeps without noting each as reused (see PendingCommit.carriedTrees). */
  carriedTrees: Set<string>;
  counters: DiskCounters;
  sealTree: (data: Buffer) => Promise<string>;
  onProgress?: ProgressListener;
  signal?: AbortSignal;
}

export class DiskBackup {
  readonly #d: DiskBackupDeps;
  #done = 0;
  #total = 0;
  constructor(deps: DiskBackupDeps) {
    this.#d = deps;
  }

  async run(disk: DiskToBackUp, parentDisk: DiskManifest | null): Promise<DiskManifest> {
    const throttledBefore = this.#d.source.throttledMs ?? 0;
    try {
      return await this.#run(disk, parentDisk);
    } finally {
      this.#d.timers.throttling.add((this.#d.source.throttledMs ?? 0) - throttledBefore);
    }
  }

  async #run(disk: DiskToBackUp, parentDisk: DiskManifest | null): Promise<DiskManifest> {
    const { source, signal, repo } = this.#d;
    const info = await source.describe(disk.snapshot, { signal });
    const bs = repo.params.chunking.blockSize;
    if (bs % info.blockSize !== 0) {
      throw new InvalidArgumentError(`snapshot ${info.snapshotId} has ${info.blockSize}-byte blocks; the repository block size ${bs} must be a multiple of it`);
    }
    const nBlocks = Math.ceil(info.size / bs);
    const nSegments = Math.ceil(nBlocks / SEGMENT_BLOCKS);
    const comparable = parentDisk !== null && parentDisk.size === info.size && parentDisk.blockSize === bs && parentDisk.segmentBlocks === SEGMENT_BLOCKS;
    let changed: number[] | null = null;
    if (comparable && disk.baseSnapshot && disk.baseSnapshot.snapshotId === parentDisk.snapshotId) {
      const list = await source.listChangedBlocks(disk.baseSnapshot, disk.snapshot, { signal });
      if (list) changed = toRepoBlocks(list, bs, nBlocks);
    }
    const toRead = changed ?? toRepoBlocks(await source.listAllocatedBlocks(disk.snapshot, { signal }), bs, nBlocks);
    const segments: Array<string | null> = changed && parentDisk ? [...parentDisk.segments] : new Array<string | null>(nSegments).fill(null);
    const bySegment = new Map<number, number[]>();
    for (const b of toRead) {
      const s = Math.floor(b / SEGMENT_BLOCKS);
      if (!bySegment.has(s)) bySegment.set(s, []);
      bySegment.get(s)!.push(b);
    }
    this.#total = toRead.length * bs;
    this.#d.counters.bytesTotal += info.size;
    const batches = new Semaphore(this.#d.processor.lanes * 3);
    // Several segments at once: an incremental touches a few blocks in each, so a segment's own steps
    // (parent map in, batches, map out) would otherwise set the pace; the batch semaphore bounds memory.
    await mapLimit([...bySegment.keys()], SEGMENTS_IN_FLIGHT, async (s) => {
      const base = changed ? segments[s] : null;
      segments[s] = await this.#segment(info, s, nBlocks, bySegment.get(s)!, base, batches);
    });
    for (const id of segments) if (id) this.#markUsed(Buffer.from(id, 'hex'));
    return { name: disk.name, volumeId: info.volumeId, snapshotId: info.snapshotId, size: info.size, blockSize: bs, segmentBlocks: SEGMENT_BLOCKS, segments };
  }

  #markUsed(id: Buffer): void {
    const e = this.#d.index.get(id);
    if (e) noteReuse(this.#d.reused, e.pack.id, ChunkIndex.keyOf(id));
  }

  async #segment(info: SnapshotInfo, s: number, nBlocks: number, blocks: number[], baseId: string | null, batches: Semaphore): Promise<string | null> {
    const first = s * SEGMENT_BLOCKS;
    const count = Math.min(SEGMENT_BLOCKS, nBlocks - first);
    let base: { plaintext: Buffer; where: string } | undefined;
    if (baseId) {
      base = { plaintext: await this.#d.repo.readTree(this.#d.index, baseId, { signal: this.#d.signal }), where: `tree ${baseId}` };
      // Blocks not read again keep the parent's chunks. Rather than note each as reused, the parent
      // segment is noted as carried: should a concurrent prune mark packs, the commit rescues every
      // chunk of that tree (a superset), as it does for segments carried over whole.
      this.#d.carriedTrees.add(baseId);
    }
    const map = new SegmentBuilder(first, count, base);
    const groups = toBatches(blocks, this.#d.batchBlocks);
    await Promise.all(groups.map((runs) => batches.run(() => this.#batch(info, runs, map, first))));
    if (map.empty) return null;
    return this.#d.sealTree(map.encode());
  }

  /** One batch: runs of blocks read back to back into one slot, hashed and sealed as one task each. */
  async #batch(info: SnapshotInfo, runs: Array<[number, number]>, map: SegmentBuilder, segFirst: number): Promise<void> {
    const d = this.#d;
    throwIfAborted(d.signal);
    const bs = d.repo.params.chunking.blockSize;
    const ratio = bs / info.blockSize;
    const blockAt: number[] = runs.flatMap(([start, count]) => Array.from({ length: count }, (_, i) => start + i));
    const n = blockAt.length;
    const slot = await d.pool.acquire();
    try {
      const view = slot.view.subarray(0, n * bs);
      await d.timers.sourceRead.time(async () => {
        let at = 0;
        for (const [start, count] of runs) {
          await d.source.readBlocks(info, start * ratio, count * ratio, view.subarray(at, at + count * bs), { signal: d.signal });
          at += count * bs;
        }
      });
      const hashed = await d.timers.processing.time(() => d.processor.hashBlocks(view, bs));
      const toSeal: ChunkToSeal[] = [];
      hashed.forEach((chunks, j) => {
        map.set(blockAt[j] - segFirst, chunks);
        if (chunks.length === 0) d.counters.bytesZero += bs;
        for (const c of chunks) {
          if (!c.id) {
            d.counters.bytesZero += c.length;
            continue;
          }
          if (claimNewChunk(d, c.id, c.length)) toSeal.push({ offset: j * bs + c.offset, length: c.length, id: c.id });
        }
      });
      d.counters.blocksRead += n;
      d.counters.bytesRead += n * bs;
      if (toSeal.length > 0) {
        const sealed = await d.timers.processing.time(() => d.processor.sealChunks(view, toSeal, CHUNK_KIND.data, d.packs.key));
        slot.release();
        for (let i = 0; i < toSeal.length; i++) await d.packs.add(toSeal[i].id, CHUNK_KIND.data, sealed[i]);
        // The packs hold copies now: the processor may reuse the results' buffer.
        d.processor.recycle?.(sealed);
      }
    } finally {
      slot.release();
    }
    this.#done += n * bs;
    d.onProgress?.({ phase: 'backup', item: info.volumeId, bytesDone: this.#done, bytesTotal: this.#total });
  }
}

/**
 * The dedup decision for one chunk (data or tree): true when neither the repository nor this
 * session has it (it is claimed for this session; the caller seals and stores it); otherwise a
 * reuse from the repository is recorded.
 */
export function claimChunk(d: Pick<DiskBackupDeps, 'index' | 'session' | 'reused'>, id: Buffer): boolean {
  const known = d.index.get(id);
  if (known) noteReuse(d.reused, known.pack.id, ChunkIndex.keyOf(id));
  return !known && d.session.add(id);
}

/** claimChunk for a data chunk, counted as new or reused. */
export function claimNewChunk(d: Pick<DiskBackupDeps, 'index' | 'session' | 'reused' | 'counters'>, id: Buffer, length: number): boolean {
  if (!claimChunk(d, id)) {
    d.counters.chunksReused++;
    return false;
  }
  d.counters.chunksNew++;
  d.counters.bytesNew += length;
  return true;
}

/** Records that the new restore point uses chunk `key` stored in `packId`. */
export function noteReuse(reused: Map<string, Set<string>>, packId: string, key: string): void {
  let set = reused.get(packId);
  if (!set) reused.set(packId, (set = new Set()));
  set.add(key);
}

function toRepoBlocks(list: BlockList, repoBlockSize: number, nBlocks: number): number[] {
  const ratio = repoBlockSize / list.blockSize;
  const out = new Set<number>();
  for (const b of list.blocks) {
    const r = Math.floor(b / ratio);
    if (r < nBlocks) out.add(r);
  }
  return [...out].sort((a, b) => a - b);
}

/**
 * Sorted block numbers in batches of at most `max` blocks, each batch as its runs of consecutive
 * blocks ([start, count][]). Batches are filled across gaps (zero blocks between allocated ones),
 * so a task carries `max` blocks wherever it can: fewer, larger tasks for the threads.
 */
export function toBatches(blocks: number[], max: number): Array<Array<[number, number]>> {
  const batches: Array<Array<[number, number]>> = [];
  let batch: Array<[number, number]> = [];
  let size = 0;
  for (const b of blocks) {
    if (size === max) {
      batches.push(batch);
      batch = [];
      size = 0;
    }
    const last = batch[batch.length - 1];
    if (last && last[0] + last[1] === b) last[1]++;
    else batch.push([b, 1]);
    size++;
  }
  if (size > 0) batches.push(batch);
  return batches;
}
