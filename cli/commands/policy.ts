// `cloudkeep policy validate|plan|apply`: backup policies as code under policies/<account-id>/*.yaml.
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { systemClock } from '../../core/clock.ts';
import { InvalidArgumentError } from '../../core/errors.ts';
import { loadPolicies, type LoadedPolicy } from '../../core/policy/load-policies.ts';
import { parseInventory, planPolicies, type DiscoveredResource, type Plan, type ScheduleRuns } from '../../core/policy/plan.ts';
import { PolicyValidationError } from '../../core/policy/policy-schema.ts';
import { emit, type GlobalOptions } from '../context.ts';
import { registerApply } from './policy-apply.ts';

const DEFAULT_DIR = './policies';

/** Loads the policies; with --json, a failure is also printed as a list of problems before it is raised. */
async function load(dir: string, g: GlobalOptions): Promise<LoadedPolicy[]> {
  try {
    return await loadPolicies(dir);
  } catch (err) {
    if (err instanceof PolicyValidationError) emit(g, { ok: false, problems: err.problems }, () => '');
    throw err;
  }
}

async function readInventory(file: string): Promise<DiscoveredResource[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new InvalidArgumentError(`cannot read --inventory ${JSON.stringify(file)}: ${(err as Error).message}`, { cause: err });
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new InvalidArgumentError(`--inventory ${JSON.stringify(file)} is not JSON: ${(err as Error).message}`, { cause: err });
  }
  return parseInventory(data, file);
}

function parseAt(text: string | undefined): Date {
  if (text === undefined) return new Date(systemClock.now());
  const at = new Date(text);
  if (Number.isNaN(at.getTime())) throw new InvalidArgumentError(`--at ${JSON.stringify(text)}: expected an ISO 8601 time such as 2026-03-28T12:00:00Z`);
  return at;
}

function parseRuns(text: string): number {
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!(n >= 1 && n <= 100)) throw new InvalidArgumentError(`--runs ${JSON.stringify(text)}: expected a whole number from 1 to 100`);
  return n;
}

const resourceLine = (r: DiscoveredResource) => {
  const tags = Object.entries(r.tags).map(([k, v]) => `${k}=${v}`).join(',');
  return `${r.type} ${r.id} (${r.region}${tags ? `, ${tags}` : ''})`;
};

/** A run time in the schedule's zone, e.g. "2026-03-29 03:00 Europe/Berlin (01:00Z)". */
function runTime(d: Date, timeZone: string): string {
  const local = new Intl.DateTimeFormat('sv-SE', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hour12: false }).format(d);
  return `${local} ${timeZone} (${d.toISOString().slice(0, 16).replace('T', ' ')}Z)`;
}

function runsText(label: string, runs: ScheduleRuns | undefined): string[] {
  if (!runs) return [`  ${label}: none`];
  return [`  ${label}: ${runs.schedule} (${runs.timeZone}), next:`, ...runs.next.map((d) => `    ${runTime(d, runs.timeZone)}`)];
}

function planText(plan: Plan): string {
  const lines: string[] = [];
  for (const p of plan.policies) {
    lines.push(`policy ${p.policyId} (${p.name}), account ${p.account}: ${p.selected.length} resource(s)`);
    lines.push(...p.selected.map((r) => `  - ${resourceLine(r)}`));
    if (p.missingIds.length > 0) lines.push(`  ids not found by discovery: ${p.missingIds.join(', ')}`);
    lines.push(...runsText('snapshots', p.snapshots), ...runsText('backup', p.backup));
  }
  lines.push(`unprotected: ${plan.unprotected.length} resource(s)`, ...plan.unprotected.map((r) => `  - ${r.account} ${resourceLine(r)}`));
  for (const o of plan.overlaps) lines.push(`note: ${o.resource.id} is selected by ${o.policies.join(', ')}`);
  return lines.join('\n');
}

export function registerPolicy(program: Command, globals: () => GlobalOptions): void {
  const policy = program.command('policy').description('backup policies as code: policies/<account-id>/<policy>.yaml');
  policy
    .command('validate')
    .description('check every policy file; lists all problems, each with file and field (exit code 2 when any)')
    .argument('[dir]', 'policy folder', DEFAULT_DIR)
    .action(async (dir: string) => {
      const g = globals();
      const loaded = await load(dir, g);
      emit(
        g,
        { ok: true, policies: loaded.map((l) => ({ file: l.file, id: l.policy.id, name: l.policy.name, account: l.policy.account.id, provider: l.policy.account.provider })) },
        () => [`${loaded.length} valid polic${loaded.length === 1 ? 'y' : 'ies'} in ${dir}`, ...loaded.map((l) => `  ${l.policy.id}: ${l.file}`)].join('\n'),
      );
    });
  policy
    .command('plan')
    .description('show what each policy selects now, its next runs, and the resources no policy protects')
    .argument('[dir]', 'policy folder', DEFAULT_DIR)
    .requiredOption('--inventory <file.json>', 'discovered resources: a JSON list of { provider, account, region, type, id, tags }')
    .option('--runs <n>', 'how many next runs of each schedule', '3')
    .option('--at <time>', 'plan as of this ISO 8601 time instead of now')
    .action(async (dir: string, o: { inventory: string; runs: string; at?: string }) => {
      const g = globals();
      const runs = parseRuns(o.runs);
      const at = parseAt(o.at);
      const loaded = await load(dir, g);
      const plan = planPolicies(loaded.map((l) => l.policy), await readInventory(o.inventory), at, runs);
      emit(g, { at, ...plan }, () => planText(plan));
    });
  registerApply(policy, globals, load, DEFAULT_DIR);
}
