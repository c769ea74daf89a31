// Cloudkeep CLI steps of the benchmarks: each a separate measured process (node <cli> --repo <dir> --json ...).
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { assertIdentical, measureStep, type Step } from './measure.ts';

const ROOT = resolve(import.meta.dirname, '..');

/** The compiled entry when built (`npm run build`) and `fallback` allows it; BENCH_CLI=ts forces the sources, BENCH_CLI=dist the build. */
export function cliEntry(preferCompiled: boolean): string {
  const choice = process.env.BENCH_CLI ?? (preferCompiled ? 'dist' : 'ts');
  if (choice !== 'ts' && choice !== 'dist') throw new Error(`BENCH_CLI=${choice}: expected ts or dist`);
  const compiled = choice === 'dist' && existsSync(join(ROOT, 'dist/cli/main.js'));
  return join(ROOT, compiled ? 'bin/cloudkeep.js' : 'cli/main.ts');
}

/** Runs one Cloudkeep command as a measured step and parses its JSON output. */
export async function ckStep(tool: string, name: string, cli: string, repo: string, args: string[], warm: string[] = []): Promise<{ step: Step; json: Record<string, unknown> }> {
  const r = await measureStep(tool, name, repo, process.execPath, [cli, '--repo', repo, '--json', ...args], { CLOUDKEEP_PASSPHRASE: 'cloudkeep-bench' }, warm);
  return { step: r.step, json: JSON.parse(r.out.stdout) as Record<string, unknown> };
}

/** Restores point `id` to target, checks it against the expected digest and removes it. */
export async function ckRestore(tool: string, cli: string, repo: string, id: string, target: string, sha: string): Promise<{ step: Step; json: Record<string, unknown> }> {
  await rm(target, { force: true });
  const r = await ckStep(tool, 'restore', cli, repo, ['restore', id, '--to', target]);
  await assertIdentical(target, sha, `${tool} restore`);
  await rm(target, { force: true });
  return r;
}

/** `repo verify --full`; throws when it reports any problem (a benchmark of a failing verify means nothing). */
export async function ckVerify(tool: string, cli: string, repo: string): Promise<{ step: Step; json: Record<string, unknown> }> {
  const r = await ckStep(tool, 'verify (--full)', cli, repo, ['repo', 'verify', '--full']);
  if (r.json.ok !== true) throw new Error(`cloudkeep verify found problems: ${JSON.stringify(r.json.problems)}`);
  return r;
}
