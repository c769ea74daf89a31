// Prune: delete packs no restore point references, in two runs separated by a safety margin (see markers.ts).
import { CorruptObjectError, throwIfAborted } from '../errors.ts';
import { ChunkIndex, encodeIndex, type IndexedChunk } from '../repo/index-file.ts';
import { packIdFromKey, packKey, PACKS_PREFIX, pointKey } from '../repo/layout.ts';
import { oldestLiveSession, readMarkers, removeExpiredSessions, writeMarker, type Marker } from '../repo/markers.ts';
import type { Repository } from '../repo/repository.ts';
import { deleteAll, listAll } from '../store/object-store.ts';
import { LockGuard, neededKeys, type LockOptions, type LockReport } from './locks.ts';
import { collectReferences } from './referenced.ts';
import { earlyDeletes, type EarlyDelete } from './early-deletes.ts';

export const DEFAULT_SAFETY_MARGIN_MS = 2 * 60 * 60 * 1000;

export interface PruneOptions {
  /** How long a mark waits before its packs are deleted, and how old an unreferenced pack must be. */
  safetyMarginMs?: number;
  /** Decide and report only. */
  dryRun?: boolean;
  signal?: AbortSignal;
  /**
   * The repository is immutable for `days` (the store's object lock): prune never deletes a locked
   * object, and extends the locks retained points need. Implied (without extension) by a store whose
   * capabilities.objectLock is set. Needs an ObjectLocker store, else UnsupportedOperationError.
   */
  lock?: LockOptions;
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
  /** Doomed packs kept because their lock has not lapsed yet: still marked, deleted by a later run. */
  waitingForLock: number;
  /** Replaced index objects and forgotten manifests kept until their lock lapses. */
  heldIndexes: number;
  heldPoints: number;
  /** Lock maintenance (locked repositories with `lock` set). */
  locks?: LockReport;
  /** Deleted packs younger than their storage tier's minimum duration (stores with tiers; see early-deletes.ts). */
  earlyDeletes: EarlyDelete[];
}

/** Objects a locked repository could not delete yet: carried into a new marker. */
interface Held {
  packs: Set<string>;
  indexes: Set<string>;
  points: Set<string>;
}

export async function pruneRepository(repo: Repository, options: PruneOptions = {}): Promise<PruneReport> {
  const { signal } = options;
  const margin = options.safetyMarginMs ?? DEFAULT_SAFETY_MARGIN_MS;
  const now = repo.clock.now();
  const guard = LockGuard.for(repo, options.lock);
  // Leases first: a backup that commits after this read started before it, and is covered.
  const liveStart = await oldestLiveSession(repo, margin, { signal });
  const markers = await readMarkers(repo, { signal });
  const allMarked = new Set(markers.flatMap((m) => m.packs));
  // Manifests before the index: a point is committed after its index object, so every point seen
  // here has its chunks in the index read next, even when a backup commits in between.
  // Points a marker names as forgotten are already left out here (locked repositories).
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
  const report: PruneReport = { markedPacks: 0, deletedPacks: 0, deletedBytes: 0, rewrittenIndexes: 0, revivedPacks: 0, waitingMarks: 0, referencedChunks: refs.chunks.size, waitingForLock: 0, heldIndexes: 0, heldPoints: 0, earlyDeletes: [] };
  const due = markers.filter((m) => m.createdAt <= now - margin && (liveStart === null || liveStart > m.createdAt));
  report.waitingMarks = markers.length - due.length;
  const packInfos = new Map((await listAll(repo.store, PACKS_PREFIX, { signal })).map((i) => [packIdFromKey(i.key), i]));
  const doomed = new Set<string>();
  for (const m of due) for (const p of m.packs) (referencedPacks.has(p) ? (report.revivedPacks++, null) : doomed.add(p));
  const held: Held = { packs: new Set(), indexes: new Set(), points: new Set() };
  if (guard) {
    const locked = await guard.lockedOf([...doomed].filter((p) => packInfos.has(p)).map(packKey), { signal });
    for (const p of doomed) if (locked.has(packKey(p))) held.packs.add(p);
    for (const p of held.packs) doomed.delete(p);
    report.waitingForLock = held.packs.size;
  }
  report.earlyDeletes = await earlyDeletes(repo.store, doomed, packInfos, now, { signal });
  if (!options.dryRun) await sweep(repo, index, doomed, due, packInfos, report, guard, held, referencedPacks, signal);
  else report.deletedPacks = doomed.size;
  report.heldIndexes = held.indexes.size;
  report.heldPoints = held.points.size;
  const waiting = new Set([...markers.filter((m) => !due.includes(m)).flatMap((m) => m.packs), ...held.packs]);
  const cutoff = Math.min(now - margin, liveStart ?? Infinity);
  const candidates: string[] = [];
  for (const [packId, info] of packInfos) {
    if (referencedPacks.has(packId) || doomed.has(packId) || waiting.has(packId)) continue;
    if (info.lastModified < cutoff) candidates.push(packId);
  }
  report.markedPacks = candidates.length;
  if (candidates.length > 0 && !options.dryRun) await writeMarker(repo, candidates, { signal });
  if (!options.dryRun) await removeExpiredSessions(repo, margin, { signal });
  if (guard && options.lock) {
    const superseded = new Set([...markers.flatMap((m) => m.indexes ?? []), ...held.indexes]);
    const keys = await neededKeys(repo, manifests.map((m) => m.id), referencedPacks, index.objects, superseded, { signal });
    report.locks = await guard.maintain(keys, { signal, dryRun: options.dryRun });
  }
  return report;
}

/**
 * Order for crash safety: new indexes first, then old indexes, then packs, then the marks. In a
 * locked repository, what is still locked is kept and carried into a new marker before the due
 * markers go: packs stay marked while a kept index still names them, so no backup reuses them.
 */
async function sweep(
  repo: Repository,
  index: ChunkIndex,
  doomed: Set<string>,
  due: Marker[],
  packInfos: Map<string, { size: number }>,
  report: PruneReport,
  guard: LockGuard | null,
  held: Held,
  referenced: Set<string>,
  signal?: AbortSignal,
): Promise<void> {
  // Replaced indexes a due marker holds are deleted below, not rewritten again.
  const replaced = new Set(due.flatMap((m) => m.indexes ?? []));
  if (doomed.size > 0) {
    for (const [indexKey, packs] of index.objects) {
      if (replaced.has(indexKey) || ![...packs].some((p) => doomed.has(p))) continue;
      throwIfAborted(signal);
      const kept: IndexedChunk[] = (await repo.readIndexObject(indexKey, { signal })).filter((c) => !doomed.has(c.pack.id));
      if (kept.length > 0) await repo.writeIndexObject(encodeIndex(kept), { signal });
      if (guard && (await guard.isLocked(indexKey, { signal }))) held.indexes.add(indexKey);
      else await repo.store.delete(indexKey, { signal });
      report.rewrittenIndexes++;
    }
    // Packs already gone were deleted by an earlier run whose marker was carried.
    const present = [...doomed].filter((p) => packInfos.has(p));
    throwIfAborted(signal);
    await deleteAll(repo.store, present.map(packKey), { signal });
    report.deletedPacks += present.length;
    for (const p of present) report.deletedBytes += packInfos.get(p)?.size ?? 0;
  }
  if (guard) await sweepHeld(repo, guard, index, doomed, due, held, referenced, signal);
  for (const m of due) await repo.store.delete(m.key, { signal });
}

/** Deletes replaced indexes and forgotten manifests of due markers once unlocked; writes one marker for the rest. */
async function sweepHeld(repo: Repository, guard: LockGuard, index: ChunkIndex, doomed: Set<string>, due: Marker[], held: Held, referenced: Set<string>, signal?: AbortSignal): Promise<void> {
  for (const key of new Set(due.flatMap((m) => m.indexes ?? []))) {
    if (await guard.isLocked(key, { signal })) held.indexes.add(key);
    else await repo.store.delete(key, { signal });
  }
  for (const id of new Set(due.flatMap((m) => m.points ?? []))) {
    if (await guard.isLocked(pointKey(id), { signal })) held.points.add(id);
    else await repo.deleteManifest(id, { signal });
  }
  // Packs a kept index still names stay marked, so no backup dedups against a deleted copy.
  const eligible = new Set([...doomed, ...due.flatMap((m) => m.packs)]);
  const packs = new Set(held.packs);
  for (const key of held.indexes) for (const p of index.objects.get(key) ?? []) if (eligible.has(p) && !referenced.has(p)) packs.add(p);
  if (packs.size + held.indexes.size + held.points.size === 0) return;
  await writeMarker(repo, [...packs], { signal }, { points: [...held.points], indexes: [...held.indexes] });
}
