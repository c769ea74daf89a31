// Backup use-case: snapshots in, one restore point out (packs, then index, then the manifest).
import type { Clock } from '../clock.ts';
import { InvalidArgumentError, throwIfAborted } from '../errors.ts';
import { chunkId, CHUNK_KIND, sealChunk } from '../repo/block-codec.ts';
import { IdTable } from '../repo/id-table.ts';
import type { ChunkIndex } from '../repo/index-file.ts';
import { newPointId } from '../repo/layout.ts';
import { chainGroup, type BackupStats, type DiskManifest, type Manifest, type ResourceRef, type StreamManifest } from '../repo/manifest.ts';
import { backupStream, type StreamToBackUp } from './stream-backup.ts';
import { PackWriter } from '../repo/pack-writer.ts';
import type { Repository } from '../repo/repository.ts';
import type { SnapshotRef, SnapshotSource } from '../snapshot/snapshot-source.ts';
import type { RepositoryLimiter, RepositoryTask } from '../store/repository-limits.ts';
import type { BlockProcessor } from './block-processor.ts';
import { IndexWriter } from '../repo/index-writer.ts';
import { BufferPool } from './buffer-pool.ts';
import { claimChunk, DiskBackup, type DiskCounters } from './disk-backup.ts';
import type { ProgressListener } from './progress.ts';
import { bottleneck, newTimers, stageStats } from './stage-timer.ts';

export interface DiskToBackUp {
  name: string;
  snapshot: SnapshotRef;
  /** The snapshot the parent restore point's disk was read from: enables changed-block reads. */
  baseSnapshot?: SnapshotRef | null;
}

export interface BackupRequest {
  resource: ResourceRef;
  disks: DiskToBackUp[];
  /** Byte streams, e.g. database exports, stored in the same restore point. */
  streams?: StreamToBackUp[];
  /** The previous restore point of this resource in the chain, if any. */
  parent?: Manifest | null;
  tags?: Record<string, string>;
}

export interface BackupContext {
  repo: Repository;
  /** The repository index as loaded at the start (packs pending deletion already dropped). */
  index: ChunkIndex;
  source: SnapshotSource;
  processor: BlockProcessor;
  onProgress?: ProgressListener;
  signal?: AbortSignal;
  /** Blocks read and processed as one unit (default 4). */
  batchBlocks?: number;
  /** Chunks per index object (default INDEX_PART_ENTRIES, 16,384); smaller in tests, to put several while a backup runs. */
  indexPartEntries?: number;
  /**
   * Runs once the new chunks are stored and before the index and manifest are written: the place
   * to re-check prune markers and copy reused chunks out of packs a concurrent prune marked.
   */
  beforeCommit?: (commit: PendingCommit) => Promise<void>;
  /** Repository limits shared with the other tasks of this process: a task slot, and pack uploads held to its write share. */
  limiter?: RepositoryLimiter;
}

export interface PendingCommit {
  /** Chunks reused from the index, by the pack they were found in (latin1 chunk keys). */
  reused: Map<string, Set<string>>;
  /**
   * Block-map trees of the parent whose chunks this point keeps without noting each in `reused`:
   * segments carried over whole, and parent segments of re-read ones (a superset of what is kept).
   */
  carriedTrees: string[];
  packs: PackWriter;
  /** The writer of block and stream map chunks (hot packs). */
  treePacks: PackWriter;
}

export async function backupResource(ctx: BackupContext, req: BackupRequest): Promise<Manifest> {
  const streamsIn = req.streams ?? [];
  if (req.disks.length === 0 && streamsIn.length === 0) throw new InvalidArgumentError(`resource ${req.resource.id}: no disks or streams to back up`);
  const names = new Set([...req.disks.map((d) => d.name), ...streamsIn.map((s) => s.name)]);
  if (names.size !== req.disks.length + streamsIn.length) throw new InvalidArgumentError(`resource ${req.resource.id}: disk and stream names must be unique`);
  const task = await ctx.limiter?.begin(ctx.signal);
  try {
    return await backUp(ctx, req, task);
  } finally {
    task?.end();
  }
}

async function backUp(ctx: BackupContext, req: BackupRequest, task: RepositoryTask | undefined): Promise<Manifest> {
  const { repo, processor, signal } = ctx;
  const clock: Clock = repo.clock;
  const streamsIn = req.streams ?? [];
  const started = clock.now();
  const timers = newTimers(clock, processor);
  const store = task?.store(repo.store, { throttling: timers.throttling, write: timers.targetWrite });
  const placement = { group: chainGroup(req.resource), role: req.parent ? ('incremental' as const) : ('full' as const) };
  // Index objects go out as they fill, each naming chunks of packs already written (index-writer.ts).
  const index = new IndexWriter(repo, { timer: timers.targetWrite, signal, maxEntries: ctx.indexPartEntries });
  const packs = new PackWriter(repo, { timer: timers.targetWrite, signal, store, placement, index });
  // Maps go to their own small packs, kept hot: incrementals and prune read them even when data packs are archived.
  const treePacks = new PackWriter(repo, { timer: timers.targetWrite, signal, store, placement, kind: 'tree-pack', targetSize: Math.min(repo.params.packTargetSize, 4 * 1024 * 1024), index });
  const batchBlocks = ctx.batchBlocks ?? 4;
  const pool = new BufferPool(batchBlocks * repo.params.chunking.blockSize, processor.lanes * 3 + 2);
  const counters: DiskCounters = { bytesRead: 0, bytesZero: 0, bytesNew: 0, chunksNew: 0, chunksReused: 0, blocksRead: 0, bytesTotal: 0 };
  const session = new IdTable();
  const reused = new Map<string, Set<string>>();
  const partlyCarried = new Set<string>();
  const disks: DiskManifest[] = [];
  for (const disk of req.disks) {
    throwIfAborted(signal);
    const job = new DiskBackup({ ...ctx, clock, timers, packs, pool, batchBlocks, session, reused, carriedTrees: partlyCarried, counters, sealTree: (data) => storeTree(ctx, treePacks, session, reused, data) });
    disks.push(await job.run(disk, req.parent?.disks.find((d) => d.name === disk.name) ?? null));
  }
  const streams: StreamManifest[] = [];
  for (const stream of streamsIn) {
    throwIfAborted(signal);
    streams.push(await backupStream({ ...ctx, packs, session, reused, counters, sealTree: (data) => storeTree(ctx, treePacks, session, reused, data) }, stream));
  }
  await packs.flush();
  await treePacks.flush();
  const carriedTrees = [
    ...disks.flatMap((d, i) => d.segments.filter((id, s): id is string => id !== null && id === req.parent?.disks.find((p) => p.name === req.disks[i].name)?.segments[s])),
    ...partlyCarried,
  ];
  await ctx.beforeCommit?.({ reused, carriedTrees, packs, treePacks });
  await packs.flush();
  await treePacks.flush();
  await index.flush();
  const finished = clock.now();
  const stages = stageStats(timers);
  const stats: BackupStats = {
    ...counters,
    bytesStored: packs.bytesWritten + treePacks.bytesWritten,
    packsWritten: packs.packsWritten + treePacks.packsWritten,
    objectsWritten: packs.packsWritten + treePacks.packsWritten + index.objectsWritten + 1,
    durationMs: finished - started,
    stages,
    bottleneck: bottleneck(stages),
  };
  const manifest: Manifest = {
    version: 1,
    id: newPointId(finished),
    resource: req.resource,
    kind: req.parent ? 'incremental' : 'full',
    parent: req.parent?.id ?? null,
    startedAt: new Date(started).toISOString(),
    finishedAt: new Date(finished).toISOString(),
    tags: req.tags ?? {},
    disks,
    ...(streams.length > 0 ? { streams } : {}),
    stats,
  };
  throwIfAborted(signal);
  await repo.writeManifest(manifest, { signal });
  return manifest;
}

/** Stores a block-map segment as a tree chunk unless the repository has it already; returns its id. */
async function storeTree(ctx: BackupContext, packs: PackWriter, session: IdTable, reused: Map<string, Set<string>>, data: Buffer): Promise<string> {
  const id = chunkId(ctx.repo.master.treeIdKey, data);
  if (claimChunk({ index: ctx.index, session, reused }, id)) {
    await packs.add(id, CHUNK_KIND.tree, sealChunk(data, id, CHUNK_KIND.tree, packs.key, ctx.repo.params.compression.level));
  }
  return id.toString('hex');
}
