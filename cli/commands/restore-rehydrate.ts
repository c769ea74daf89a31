// `cloudkeep restore --rehydrate`: rehydrates a restore point's archived packs first, printing progress to stderr.
import { archivedRestoreMessage, rehydratePoint } from '../../core/engine/rehydrate.ts';
import { CloudkeepError, InvalidArgumentError } from '../../core/errors.ts';
import type { ChunkIndex } from '../../core/repo/index-file.ts';
import type { Manifest } from '../../core/repo/manifest.ts';
import type { Repository } from '../../core/repo/repository.ts';
import { isObjectTiering, ObjectArchivedError, type RehydratePriority } from '../../core/store/object-store.ts';
import type { GlobalOptions } from '../context.ts';

const PRIORITIES: readonly RehydratePriority[] = ['standard', 'bulk', 'expedited'];

/** Parses `--rehydrate [days]` (true when given without a value: 7 days). */
export function rehydrateDays(value: boolean | string): number {
  if (value === true) return 7;
  const days = Number(value);
  if (typeof value !== 'string' || !/^\d{1,4}$/.test(value) || days < 1) throw new InvalidArgumentError(`--rehydrate ${JSON.stringify(value)}: expected a whole number of days >= 1`);
  return days;
}

export async function rehydrateFirst(g: GlobalOptions, repo: Repository, index: ChunkIndex, manifest: Manifest, days: boolean | string, priority: string): Promise<void> {
  if (!PRIORITIES.includes(priority as RehydratePriority)) throw new InvalidArgumentError(`--rehydrate-priority ${JSON.stringify(priority)}: expected ${PRIORITIES.join(', ')}`);
  if (!isObjectTiering(repo.store)) {
    if (!g.quiet) process.stderr.write(`${repo.store.description} has no storage tiers: nothing to rehydrate\n`);
    return;
  }
  const result = await rehydratePoint(repo, index, manifest, {
    days: rehydrateDays(days),
    priority: priority as RehydratePriority,
    onProgress: (p) => {
      if (!g.quiet && !g.json) process.stderr.write(`rehydrating ${manifest.id} (${p.phase}): ${p.ready}/${p.needed} packs readable, ${p.requested} requested\n`);
    },
  });
  if (!g.quiet && !g.json) process.stderr.write(`rehydrated: ${result.packsNeeded} packs readable (${result.packsArchived} were archived) after ${(result.waitedMs / 60_000).toFixed(1)} min\n`);
}

/** A restore that met an archived pack fails with a message naming it and suggesting --rehydrate. */
export function translateArchived(err: unknown, pointId: string): never {
  if (err instanceof ObjectArchivedError) throw new CloudkeepError(archivedRestoreMessage(err, pointId), { cause: err });
  throw err;
}
