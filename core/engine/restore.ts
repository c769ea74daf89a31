// Restore use-case: a restore point's disk back to a raw image, in parallel, every chunk verified.
import { CorruptObjectError, InvalidArgumentError, throwIfAborted } from '../errors.ts';
import { decodeSegment } from '../repo/block-map.ts';
import type { ChunkIndex } from '../repo/index-file.ts';
import { packKey } from '../repo/layout.ts';
import type { Manifest } from '../repo/manifest.ts';
import { packDataKey } from '../repo/pack.ts';
import type { Repository } from '../repo/repository.ts';
import type { VolumeSink } from '../snapshot/snapshot-source.ts';
import type { RepositoryLimiter, RepositoryTask } from '../store/repository-limits.ts';
import { mapLimit } from '../util/concurrency.ts';
import type { BlockProcessor } from './block-processor.ts';
import type { ProgressListener } from './progress.ts';
import { planReads, type ChunkWant } from './read-plan.ts';
import { newTimers, stageStats, bottleneck } from './stage-timer.ts';
import type { DiskManifest, StageStats } from '../repo/manifest.ts';

export interface RestoreContext {
  repo: Repository;
  index: ChunkIndex;
  processor: BlockProcessor;
  onProgress?: ProgressListener;
  signal?: AbortSignal;
  /** Ranged reads in flight (default 4 per processor lane). */
  readConcurrency?: number;
  /** Repository limits shared with the other tasks of this process: a task slot, and pack reads held to its read share. */
  limiter?: RepositoryLimiter;
}

export interface RestoreResult {
  bytesWritten: number;
  bytesRead: number;
  requests: number;
  durationMs: number;
  stages: StageStats;
  bottleneck: string;
}

export async function restoreDisk(ctx: RestoreContext, manifest: Manifest, diskName: string, sink: VolumeSink): Promise<RestoreResult> {
  const disk = manifest.disks.find((d) => d.name === diskName);
  if (!disk) throw new InvalidArgumentError(`restore point ${manifest.id} has no disk ${JSON.stringify(diskName)}; it has ${manifest.disks.map((d) => d.name).join(', ')}`);
  const task = await ctx.limiter?.begin(ctx.signal);
  try {
    return await restore(ctx, manifest, disk, sink, task);
  } finally {
    task?.end();
  }
}

async function restore(ctx: RestoreContext, manifest: Manifest, disk: DiskManifest, sink: VolumeSink, task: RepositoryTask | undefined): Promise<RestoreResult> {
  const { repo, index, processor, signal } = ctx;
  const started = repo.clock.now();
  const timers = newTimers(repo.clock, processor);
  const store = task ? task.store(repo.store, { throttling: timers.throttling, read: timers.sourceRead }) : repo.store;
  const keys = new Map<string, Buffer>();
  const keyFor = (salt: Buffer): Buffer => {
    const k = salt.toString('hex');
    if (!keys.has(k)) keys.set(k, packDataKey(repo.master, salt));
    return keys.get(k)!;
  };
  const result = { bytesWritten: 0, bytesRead: 0, requests: 0 };
  let done = 0;
  const segmentBytes = disk.segmentBlocks * disk.blockSize;
  await mapLimit(disk.segments.map((id, i) => [id, i] as const), 2, async ([segId, s]) => {
    throwIfAborted(signal);
    const segStart = s * segmentBytes;
    if (segId) {
      const seg = decodeSegment(await repo.readTree(index, segId, { signal }), `tree ${segId}`);
      const wants: ChunkWant<number>[] = [];
      seg.blocks.forEach((chunks, j) => {
        let off = (seg.firstBlock + j) * disk.blockSize;
        for (const c of chunks) {
          if (c.id) wants.push({ id: c.id, targets: [off] });
          off += c.length;
        }
      });
      const reads = planReads(index, wants, { maxSpan: 4 * 1024 * 1024 });
      await mapLimit(reads, ctx.readConcurrency ?? processor.lanes * 3, async (read) => {
        const key = packKey(read.packId);
        const data = await timers.sourceRead.time(() => store.get(key, { signal, range: { offset: read.offset, length: read.length } }));
        result.requests++;
        result.bytesRead += data.length;
        const chunks = read.chunks.map((c) => ({ start: c.entry.offset - read.offset, length: c.entry.length, id: c.id, kind: c.entry.kind, flags: c.entry.flags, rawLength: c.entry.rawLength }));
        const opened = await timers.processing.time(() => processor.openChunks(data, chunks, keyFor(read.chunks[0].entry.pack.salt), true));
        const pieces: Array<[number, Buffer]> = [];
        for (let i = 0; i < opened.length; i++) {
          const r = opened[i];
          const c = read.chunks[i];
          if (!r.ok) throw new CorruptObjectError(key, `chunk ${c.id.toString('hex')} at offset ${c.entry.offset}: ${r.reason}`);
          for (const target of c.targets) {
            const len = Math.min(r.data.length, disk.size - target);
            if (len > 0) pieces.push([target, r.data.subarray(0, len)]);
          }
        }
        const runs = mergeAdjacent(pieces);
        await timers.targetWrite.time(() => Promise.all(runs.map(([at, data]) => sink.write(at, data, { signal }))));
        for (const [, data] of runs) result.bytesWritten += data.length;
      });
    }
    done += Math.min(segmentBytes, disk.size - segStart);
    ctx.onProgress?.({ phase: 'restore', item: `${manifest.id}/${disk.name}`, bytesDone: done, bytesTotal: disk.size });
  });
  await sink.finish(disk.size, { signal });
  const stages = stageStats(timers);
  return { ...result, durationMs: repo.clock.now() - started, stages, bottleneck: bottleneck(stages) };
}

/** Joins pieces that touch into single writes: the chunks of a block land as one write. */
function mergeAdjacent(pieces: Array<[number, Buffer]>): Array<[number, Buffer]> {
  pieces.sort((a, b) => a[0] - b[0]);
  const runs: Array<[number, Buffer[]]> = [];
  let end = -1;
  for (const [at, data] of pieces) {
    if (at === end) runs[runs.length - 1][1].push(data);
    else runs.push([at, [data]]);
    end = at + data.length;
  }
  return runs.map(([at, parts]) => [at, parts.length === 1 ? parts[0] : joined(parts)]);
}

/** Parts that lie back to back in one buffer become one view; others are copied together. */
function joined(parts: Buffer[]): Buffer {
  const first = parts[0];
  let end = first.byteOffset + first.length;
  for (let i = 1; i < parts.length; i++) {
    if (parts[i].buffer !== first.buffer || parts[i].byteOffset !== end) return Buffer.concat(parts);
    end += parts[i].length;
  }
  return Buffer.from(first.buffer, first.byteOffset, end - first.byteOffset);
}
