// The restic comparison: init, full and incremental backup of the same image file, restore and check --read-data.
import { execFileSync } from 'node:child_process';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { assertIdentical, measureStep, timed, type Step } from './measure.ts';

export interface ResticRun {
  version: string;
  steps: Step[];
  /** Per backup: restic's own summary (data added, files processed, its duration). */
  summaries: Record<string, unknown>[];
}

/** restic's version line, or null when it is not on PATH. */
export function resticVersion(): string | null {
  try {
    return execFileSync('restic', ['version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

function summaryOf(stdout: string): Record<string, unknown> {
  for (const line of stdout.trim().split('\n').reverse()) {
    try {
      const msg = JSON.parse(line) as Record<string, unknown>;
      if (msg.message_type === 'summary') return msg;
    } catch {
      // a non-JSON line (a warning): skip
    }
  }
  return {};
}

/** Copies a snapshot file to dst (sparse, reflink when the file system can). */
async function place(src: string, dst: string): Promise<void> {
  await rm(dst, { force: true });
  await timed('cp', ['--reflink=auto', '--sparse=always', src, dst]);
}

/** Environment for restic commands on the repository under work. */
export function resticEnv(work: string): Record<string, string> {
  return { RESTIC_PASSWORD: 'cloudkeep-bench', RESTIC_REPOSITORY: join(work, 'repo'), RESTIC_CACHE_DIR: join(work, 'cache') };
}

/** Runs one restic command as a measured step; with `syncAfter`, a `sync` of that file follows in the measured process. */
export async function resticStep(work: string, name: string, args: string[], warm: string[] = [], syncAfter?: string) {
  if (!syncAfter) return measureStep('restic', name, join(work, 'repo'), 'restic', args, resticEnv(work), warm);
  const script = 'restic "$@" && sync -- "$RESTORED"';
  return measureStep('restic', name, join(work, 'repo'), 'sh', ['-c', script, 'sh', ...args], { ...resticEnv(work), RESTORED: syncAfter }, warm);
}

/** The image path restic backs up (the same path for both backups, so the second is its incremental). */
const imageOf = (work: string) => join(work, 'src', 'vol.img');

/** init, then backs up s1's bytes as <work>/src/vol.img and s2's bytes at the same path (restic re-reads the whole file). */
export async function resticBackups(work: string, s1Path: string, s2Path: string, steps: Step[], summaries: Record<string, unknown>[]): Promise<void> {
  const step = async (name: string, args: string[], warm: string[] = []) => {
    const r = await resticStep(work, name, args, warm);
    steps.push(r.step);
    return r.out;
  };
  await rm(work, { recursive: true, force: true });
  await mkdir(join(work, 'src'), { recursive: true });
  const image = imageOf(work);
  await step('repo init', ['init', '--repository-version', '2']);
  await place(s1Path, image);
  summaries.push(summaryOf((await step('full backup', ['backup', '--compression', 'auto', '--json', image], [image])).stdout));
  await place(s2Path, image);
  summaries.push(summaryOf((await step('incremental backup', ['backup', '--compression', 'auto', '--json', image], [image])).stdout));
  await rm(image, { force: true });
}

/** A full backup of s1 into a fresh repository under work (an extra round of the full backup); removes work after. */
export async function resticFullRound(work: string, s1Path: string): Promise<Step> {
  await rm(work, { recursive: true, force: true });
  await mkdir(join(work, 'src'), { recursive: true });
  const image = imageOf(work);
  try {
    await timed('restic', ['init', '--repository-version', '2'], resticEnv(work));
    await place(s1Path, image);
    return (await resticStep(work, 'full backup', ['backup', '--compression', 'auto', '--json', image], [image])).step;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** Restores the latest snapshot, checks it against s2's digest and removes it. */
export async function resticRestore(work: string, s2Sha: string): Promise<Step> {
  const target = join(work, 'restore');
  await rm(target, { recursive: true, force: true });
  // restic does not sync restored files; Cloudkeep does before it reports success: sync counts here too.
  const r = await resticStep(work, 'restore', ['restore', 'latest', '--target', target], [], join(target, imageOf(work)));
  await assertIdentical(join(target, imageOf(work)), s2Sha, 'restic restore');
  await rm(target, { recursive: true, force: true });
  return r.step;
}

/** Backs up s1 then s2, restores the latest snapshot and checks it against s2, then `check --read-data`. */
export async function runRestic(work: string, s1Path: string, s2Path: string, s2Sha: string): Promise<ResticRun> {
  const version = resticVersion() ?? 'unknown';
  const steps: Step[] = [];
  const summaries: Record<string, unknown>[] = [];
  await resticBackups(work, s1Path, s2Path, steps, summaries);
  steps.push(await resticRestore(work, s2Sha));
  steps.push((await resticStep(work, 'verify (check --read-data)', ['check', '--read-data'])).step);
  return { version, steps, summaries };
}
