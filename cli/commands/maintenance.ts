// `cloudkeep forget` and `cloudkeep prune`: retention of restore points and removal of unused data.
import type { Command } from 'commander';
import { forgetPoints } from '../../core/maintenance/forget.ts';
import { DEFAULT_SAFETY_MARGIN_MS, pruneRepository, type PruneReport } from '../../core/maintenance/prune.ts';
import { parseDuration } from '../../core/retention/duration.ts';
import { parseRetentionPolicy } from '../../core/retention/retention-policy.ts';
import { formatBytes } from '../../core/util/units.ts';
import { emit, openRepo, type GlobalOptions } from '../context.ts';
import type { Repository } from '../../core/repo/repository.ts';
import { InvalidArgumentError } from '../../core/errors.ts';
import { isObjectLocker } from '../../core/store/object-store.ts';

const KEEP_FLAGS = ['keepLast', 'keepHourly', 'keepDaily', 'keepWeekly', 'keepMonthly', 'keepYearly'] as const;

function asCount(v: string | undefined): unknown {
  if (v === undefined) return undefined;
  return /^-?\d+$/.test(v) ? Number(v) : v;
}

function pruneText(r: PruneReport, dry: boolean): string {
  return [
    `${dry ? 'would delete' : 'deleted'} ${r.deletedPacks} pack(s) (${formatBytes(r.deletedBytes)}) marked by an earlier prune; rewrote ${r.rewrittenIndexes} index object(s)`,
    `${dry ? 'would mark' : 'marked'} ${r.markedPacks} unreferenced pack(s): a prune after the safety margin deletes them`,
    ...(r.waitingMarks > 0 ? [`${r.waitingMarks} earlier mark(s) wait for the safety margin or a running backup`] : []),
    ...(r.revivedPacks > 0 ? [`${r.revivedPacks} marked pack(s) are used again and were kept`] : []),
  ].join('\n');
}

/** Leases are refreshed every 5 minutes; a shorter margin would make running backups look dead. */
const MIN_MARGIN_MS = 60 * 60 * 1000;

async function prune(repo: Repository, o: { safetyMargin: string; dryRun?: boolean }) {
  const margin = parseDuration(o.safetyMargin);
  if (margin < MIN_MARGIN_MS) throw new InvalidArgumentError(`--safety-margin ${o.safetyMargin}: expected at least 1h (running backups refresh their lease every 5 minutes)`);
  // An immutable repository (S3 lock=, Azure immutable=): prune also extends the locks retained points need.
  const days = isObjectLocker(repo.store) ? repo.store.lockDays : undefined;
  return pruneRepository(repo, { safetyMarginMs: margin, dryRun: o.dryRun, lock: days ? { days } : undefined });
}

export function registerMaintenance(program: Command, globals: () => GlobalOptions): void {
  const margin = `${DEFAULT_SAFETY_MARGIN_MS / 3_600_000}h`;
  const forget = program
    .command('forget')
    .description('apply a retention policy to each resource\'s restore points and delete the others (data goes with prune)')
    .option('--keep-last <n>', 'keep the n newest')
    .option('--keep-hourly <n>', 'keep the newest of each of the last n hours')
    .option('--keep-daily <n>', 'keep the newest of each of the last n days')
    .option('--keep-weekly <n>', 'keep the newest of each of the last n weeks')
    .option('--keep-monthly <n>', 'keep the newest of each of the last n months')
    .option('--keep-yearly <n>', 'keep the newest of each of the last n years')
    .option('--keep-within <duration>', 'keep all newer than this, e.g. 30d, 2w, 1y6m')
    .option('--resource <id>', 'only this resource')
    .option('--dry-run', 'show what would be removed')
    .option('--prune', 'run prune afterwards')
    .option('--safety-margin <duration>', 'with --prune', margin);
  forget.action(async (o: Record<string, string | boolean | undefined>) => {
    const g = globals();
    const raw: Record<string, unknown> = {};
    for (const k of KEEP_FLAGS) if (o[k] !== undefined) raw[k] = asCount(o[k] as string);
    if (o.keepWithin !== undefined) raw.keepWithin = o.keepWithin;
    const policy = parseRetentionPolicy(raw, 'forget');
    const repo = await openRepo(g);
    const decisions = await forgetPoints(repo, policy, { dryRun: Boolean(o.dryRun), resourceId: o.resource as string | undefined });
    const pruned = o.prune && !o.dryRun ? await prune(repo, { safetyMargin: o.safetyMargin as string }) : null;
    emit(g, { decisions, prune: pruned }, () =>
      [
        ...decisions.map((d) => `${d.resource}: keep ${d.keep.length} (${d.keep.map((k) => `${k.id} [${k.reasons.join(', ')}]`).join('; ')}), ${o.dryRun ? 'would remove' : 'removed'} ${d.remove.length}${d.remove.length ? `: ${d.remove.join(', ')}` : ''}`),
        ...(pruned ? [pruneText(pruned, false)] : []),
      ].join('\n'),
    );
  });
  program
    .command('prune')
    .description('delete data no restore point needs, in two runs separated by a safety margin (no locks)')
    .option('--safety-margin <duration>', 'how long marked data waits before deletion; must exceed the longest backup gap', margin)
    .option('--dry-run', 'decide and report only')
    .action(async (o: { safetyMargin: string; dryRun?: boolean }) => {
      const g = globals();
      const report = await prune(await openRepo(g), o);
      emit(g, report, () => pruneText(report, Boolean(o.dryRun)));
    });
}
