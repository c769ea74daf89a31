// Where a restore point's objects stand in the store: its retention lock, and how many of its packs
// sit in an archive tier (a restore must rehydrate them first). The console shows it per point.
import { collectReferences } from '../maintenance/referenced.ts';
import type { ChunkIndex } from '../repo/index-file.ts';
import { packKey, pointKey } from '../repo/layout.ts';
import type { Manifest } from '../repo/manifest.ts';
import type { Repository } from '../repo/repository.ts';
import { isObjectTiering, locksObjects, type ObjectTiering } from '../store/object-store.ts';
import { mapLimit } from '../util/concurrency.ts';
import { packsOf, treePacksOf } from './rehydrate.ts';

export interface PackTiers {
  /** Packs checked: every pack of the point, or only its tree packs when those are archived (the rest cannot be read yet). */
  packs: number;
  archived: number;
  rehydrating: number;
  /** False when only the tree packs could be checked. */
  complete: boolean;
}

export interface PointStorage {
  /** The manifest's retain-until (ms) on a store with Object Lock or immutability; null otherwise or when not locked. */
  lockedUntil: number | null;
  /** Null on a store without storage tiers. */
  tiers: PackTiers | null;
}

async function tiersOf(store: ObjectTiering, packs: Iterable<string>, signal?: AbortSignal): Promise<{ archived: number; rehydrating: number; packs: number }> {
  const states = await mapLimit([...packs], 8, (pack) => store.tierOf(packKey(pack), { signal }));
  return { packs: states.length, archived: states.filter((s) => s.archived).length, rehydrating: states.filter((s) => s.rehydrating).length };
}

/**
 * The lock and tier state of one restore point (a HEAD-like call per pack on tiered stores). `index` is
 * the chunk index, or a function loading it: only tiered stores need it.
 */
export async function pointStorage(repo: Repository, indexOrLoad: ChunkIndex | (() => Promise<ChunkIndex>), manifest: Manifest, signal?: AbortSignal): Promise<PointStorage> {
  const store = repo.store;
  const lockedUntil = locksObjects(store) ? (await store.retention(pointKey(manifest.id), { signal })).retainUntil : null;
  if (!isObjectTiering(store)) return { lockedUntil, tiers: null };
  const index = typeof indexOrLoad === 'function' ? await indexOrLoad() : indexOrLoad;
  const trees = await tiersOf(store, treePacksOf(index, manifest), signal);
  if (trees.archived > 0) return { lockedUntil, tiers: { ...trees, complete: false } };
  const refs = await collectReferences(repo, index, [manifest], { signal });
  const all = await tiersOf(store, new Set([...treePacksOf(index, manifest), ...packsOf(index, refs.chunks.keys(), manifest.id)]), signal);
  return { lockedUntil, tiers: { ...all, complete: true } };
}
