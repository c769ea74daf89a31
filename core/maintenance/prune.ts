// Prune: delete packs no restore point references, in two runs separated by a safety margin (see markers.ts).
import { CorruptObjectError, throwIfAborted } from '../errors.ts';
import { ChunkIndex, type IndexedChunk } from '../repo/index-file.ts';
import { packIdFromKey, packKey, PACKS_PREFIX } from '../repo/layout.ts';
import { oldestLiveSession, readMarkers, removeExpiredSessions, writeMarker, type Marker } from '../repo/markers.ts';
import type { Repository } from '../repo/repository.ts';
import { listAll } from '../store/object-store.ts';
import { collectReferences } from './referenced.ts';

export const DEFAULT_SAFETY_MARGIN_MS = 2 * 60 * 60 * 1000;

export interface PruneOptions {
  /** How long a mark waits before its packs are deleted, and how old an unreferenced pack must be. */
  safetyMarginMs?: number;
  /** Decide and report only. */
  dryRun?: boolean;
  signal?: AbortSignal;
}

export interface PruneReport {
  /** Packs newly marked for deletion by this run. */
  markedPacks: number;
  deletedPacks: number;
  deletedBytes: number;
  rewrittenIndexes: number;
  /** Marked packs a restore point needs again (kept, unmarked). */
  revivedPacks: number;
  /** Marks not yet due (waiting for the margin or an older running backup). */
  waitingMarks: number;
  referencedChunks: number;
}

export async function pruneRepository(repo: Repository, options: PruneOptions = {}): Promise<PruneReport> {
  const { signal } = options;
  const margin = options.safetyMarginMs ?? DEFAULT_SAFETY_MARGIN_MS;
  const now = repo.clock.now();
  // Leases first: a backup that commits after this read started before it, and is covered.
  const liveStart = await oldestLiveSession(repo, margin, { signal });
  const markers = await readMarkers(repo, { signal });
  const allMarked = new Set(markers.flatMap((m) => m.packs));
  // Manifests before the index: a point is committed after its index object, so every point seen
  // here has its chunks in the index read next, even when a backup commits in between.
  const manifests = await repo.listManifests({ signal });
  const index = await repo.loadIndex({ marked: allMarked, signal });
  const refs = await collectReferences(repo, index, manifests, { signal });
  if (refs.problems.length > 0) {
    throw new CorruptObjectError(refs.problems[0].key, `prune stopped, the repository has damage (run "cloudkeep repo verify"): ${refs.problems[0].problem}`);
  }
  const referencedPacks = new Set<string>();
  for (const key of refs.chunks.keys()) {
    const e = index.get(Buffer.from(key, 'latin1'));
    if (!e) throw new CorruptObjectError(`chunk ${Buffer.from(key, 'latin1').toString('hex')}`, 'prune stopped: a restore point references a chunk in no index');
    referencedPacks.add(e.pack.id);
  }
  const report: PruneReport = { markedPacks: 0, deletedPacks: 0, deletedBytes: 0, rewrittenIndexes: 0, revivedPacks: 0, waitingMarks: 0, referencedChunks: refs.chunks.size };
  const due = markers.filter((m) => m.createdAt <= now - margin && (liveStart === null || liveStart > m.createdAt));
  report.waitingMarks = markers.length - due.length;
  const packInfos = new Map((await listAll(repo.store, PACKS_PREFIX, { signal })).map((i) => [packIdFromKey(i.key), i]));
  const doomed = new Set<string>();
  for (const m of due) for (const p of m.packs) (referencedPacks.has(p) ? (report.revivedPacks++, null) : doomed.add(p));
  if (!options.dryRun) await sweep(repo, index, doomed, due, packInfos, report, signal);
  else report.deletedPacks = doomed.size;
  const waiting = new Set(markers.filter((m) => !due.includes(m)).flatMap((m) => m.packs));
  const cutoff = Math.min(now - margin, liveStart ?? Infinity);
  const candidates: string[] = [];
  for (const [packId, info] of packInfos) {
    if (referencedPacks.has(packId) || doomed.has(packId) || waiting.has(packId)) continue;
    if (info.lastModified < cutoff) candidates.push(packId);
  }
  report.markedPacks = candidates.length;
  if (candidates.length > 0 && !options.dryRun) await writeMarker(repo, candidates, { signal });
  if (!options.dryRun) await removeExpiredSessions(repo, margin, { signal });
  return report;
}

/** Order for crash safety: new indexes first, then old indexes, then packs, then the marks. */
async function sweep(repo: Repository, index: ChunkIndex, doomed: Set<string>, due: Marker[], packInfos: Map<string, { size: number }>, report: PruneReport, signal?: AbortSignal): Promise<void> {
  if (doomed.size > 0) {
    for (const [indexKey, packs] of index.objects) {
      if (![...packs].some((p) => doomed.has(p))) continue;
      throwIfAborted(signal);
      const kept: IndexedChunk[] = (await repo.readIndexObject(indexKey, { signal })).filter((c) => !doomed.has(c.pack.id));
      if (kept.length > 0) await repo.writeIndexObject(kept, { signal });
      await repo.store.delete(indexKey, { signal });
      report.rewrittenIndexes++;
    }
    for (const packId of doomed) {
      throwIfAborted(signal);
      await repo.store.delete(packKey(packId), { signal });
      report.deletedPacks++;
      report.deletedBytes += packInfos.get(packId)?.size ?? 0;
    }
  }
  for (const m of due) await repo.store.delete(m.key, { signal });
}
