// Prune's storage-tier rule: which packs it deletes before their tier's minimum storage duration, for the report.
//
// Rule: deleting an unreferenced pack early is billed the remaining days of the minimum duration, which is
// exactly what keeping it until the minimum would cost; so prune deletes unreferenced packs as usual (never
// more expensive, and it saves everything after the minimum) and lists them as earlyDeletes for transparency.
// What would cost more is rewriting (repacking) a still-referenced cold pack early: prune never rewrites
// packs; a future repack must skip packs younger than their tier's minimum.
import { packKey } from '../repo/layout.ts';
import { isObjectTiering, ObjectNotFoundError, type IoOptions, type ObjectStore } from '../store/object-store.ts';
import { mapLimit } from '../util/concurrency.ts';

const DAY_MS = 24 * 60 * 60 * 1000;

export interface EarlyDelete {
  pack: string;
  tier: string;
  /** Whole days the pack has been stored. */
  ageDays: number;
  /** Days of the minimum not yet reached: billed at deletion anyway. */
  chargedDays: number;
}

/** The packs among `packIds` younger than their tier's minimum duration; [] for stores without tiers. */
export async function earlyDeletes(store: ObjectStore, packIds: Iterable<string>, lastModified: Map<string, { lastModified: number }>, now: number, options: IoOptions = {}): Promise<EarlyDelete[]> {
  if (!isObjectTiering(store)) return [];
  const ids = [...packIds].filter((id) => lastModified.has(id));
  const found = await mapLimit(ids, 8, async (pack): Promise<EarlyDelete | null> => {
    let state;
    try {
      state = await store.tierOf(packKey(pack), options);
    } catch (err) {
      if (err instanceof ObjectNotFoundError) return null;
      throw err;
    }
    const ageMs = Math.max(0, now - lastModified.get(pack)!.lastModified);
    const remainingMs = state.minimumDurationDays * DAY_MS - ageMs;
    if (remainingMs <= 0) return null;
    return { pack, tier: state.tier, ageDays: Math.floor(ageMs / DAY_MS), chargedDays: Math.ceil(remainingMs / DAY_MS) };
  });
  return found.filter((e): e is EarlyDelete => e !== null).sort((a, b) => a.pack.localeCompare(b.pack));
}
