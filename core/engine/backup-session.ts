// The backup use-case with prune safety: a lease while running, marked packs never reused, a last check before commit.
import { CorruptObjectError } from '../errors.ts';
import { CHUNK_KIND, openChunk, sealChunk } from '../repo/block-codec.ts';
import { decodeSegment } from '../repo/block-map.ts';
import { ChunkIndex } from '../repo/index-file.ts';
import { packKey } from '../repo/layout.ts';
import type { Manifest } from '../repo/manifest.ts';
import { markedPacks, SessionLease } from '../repo/markers.ts';
import { packDataKey } from '../repo/pack.ts';
import type { Repository } from '../repo/repository.ts';
import type { SnapshotSource } from '../snapshot/snapshot-source.ts';
import type { RepositoryLimiter } from '../store/repository-limits.ts';
import { backupResource, type BackupRequest, type PendingCommit } from './backup.ts';
import type { BlockProcessor } from './block-processor.ts';
import { noteReuse } from './disk-backup.ts';
import type { ProgressListener } from './progress.ts';

export interface BackupJob {
  repo: Repository;
  source: SnapshotSource;
  processor: BlockProcessor;
  request: BackupRequest;
  onProgress?: ProgressListener;
  signal?: AbortSignal;
  /** How often the lease is refreshed; must be well under prune's safety margin. Default 5 min. */
  leaseRefreshMs?: number;
  /** Repository limits shared with the other tasks of this process. */
  limiter?: RepositoryLimiter;
  /** Chunks per index object (see BackupContext.indexPartEntries). */
  indexPartEntries?: number;
}

export async function runBackup(job: BackupJob): Promise<Manifest> {
  const { repo, signal } = job;
  const lease = new SessionLease(repo);
  await lease.start(job.leaseRefreshMs ?? 5 * 60_000, { signal });
  try {
    const marked = await markedPacks(repo, { signal });
    const index = await repo.loadIndex({ marked, exclude: true, signal });
    return await backupResource(
      { repo, index, source: job.source, processor: job.processor, onProgress: job.onProgress, signal, limiter: job.limiter, indexPartEntries: job.indexPartEntries, beforeCommit: async (c) => {
          // A lapsed lease would let a prune delete packs this backup is about to reference.
          if (lease.refreshFailure !== undefined) await lease.refresh({ signal });
          await rescueMarked(repo, marked, c, signal);
        },
      },
      job.request,
    );
  } finally {
    await lease.release().catch(() => undefined);
  }
}

/**
 * A prune that marked packs after this backup loaded its index may have marked chunks this
 * backup reuses. Their packs still exist (prune deletes only once no older lease is live), so
 * the chunks are copied into this backup's own packs before it commits.
 */
async function rescueMarked(repo: Repository, markedAtStart: Set<string>, commit: PendingCommit, signal?: AbortSignal): Promise<number> {
  const fresh = new Set([...(await markedPacks(repo, { signal }))].filter((p) => !markedAtStart.has(p)));
  if (fresh.size === 0) return 0;
  const full = await repo.loadIndex({ marked: fresh, signal });
  const needed = new Map<string, Set<string>>();
  for (const [packId, keys] of commit.reused) for (const k of keys) noteReuse(needed, packId, k);
  for (const treeId of commit.carriedTrees) {
    const seg = decodeSegment(await repo.readTree(full, treeId, { signal }), `tree ${treeId}`);
    for (const block of seg.blocks) for (const c of block) if (c.id) noteReuse(needed, full.get(c.id)?.pack.id ?? '', ChunkIndex.keyOf(c.id));
  }
  let copied = 0;
  for (const [packId, keys] of needed) {
    if (!fresh.has(packId)) continue;
    for (const k of keys) {
      const id = Buffer.from(k, 'latin1');
      const e = full.get(id);
      if (!e) throw new CorruptObjectError(`chunk ${id.toString('hex')}`, 'reused by this backup but in no index');
      if (!fresh.has(e.pack.id)) continue;
      const key = packKey(e.pack.id);
      const sealed = await repo.store.get(key, { signal, range: { offset: e.offset, length: e.length } });
      const idKey = e.kind === CHUNK_KIND.tree ? repo.master.treeIdKey : repo.master.chunkIdKey;
      const opened = openChunk(sealed, id, e.kind, e.flags, e.rawLength, packDataKey(repo.master, e.pack.salt), idKey);
      if (!opened.ok) throw new CorruptObjectError(key, `chunk ${id.toString('hex')}: ${opened.reason}`);
      const into = e.kind === CHUNK_KIND.tree ? commit.treePacks : commit.packs;
      await into.add(id, e.kind, sealChunk(opened.data, id, e.kind, into.key, repo.params.compression.level));
      copied++;
    }
  }
  return copied;
}
