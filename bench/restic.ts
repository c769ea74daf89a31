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

/**
 * Backs up s1's bytes as <work>/src/vol.img, then s2's bytes at the same path (restic re-reads the whole
 * file: its incremental), restores the latest snapshot and checks it against s2, then `check --read-data`.
 */
export async function runRestic(work: string, s1Path: string, s2Path: string, s2Sha: string): Promise<ResticRun> {
  const version = resticVersion() ?? 'unknown';
  const repo = join(work, 'repo');
  const src = join(work, 'src');
  const target = join(work, 'restore');
  await rm(work, { recursive: true, force: true });
  await mkdir(src, { recursive: true });
  const env = { RESTIC_PASSWORD: 'cloudkeep-bench', RESTIC_REPOSITORY: repo, RESTIC_CACHE_DIR: join(work, 'cache') };
  const image = join(src, 'vol.img');
  const steps: Step[] = [];
  const summaries: Record<string, unknown>[] = [];
  const step = async (name: string, args: string[]) => {
    const r = await measureStep('restic', name, repo, 'restic', args, env);
    steps.push(r.step);
    return r.out;
  };

  await step('repo init', ['init', '--repository-version', '2']);
  await place(s1Path, image);
  summaries.push(summaryOf((await step('full backup', ['backup', '--compression', 'auto', '--json', image])).stdout));
  await place(s2Path, image);
  summaries.push(summaryOf((await step('incremental backup', ['backup', '--compression', 'auto', '--json', image])).stdout));
  await step('restore', ['restore', 'latest', '--target', target]);
  const restored = join(target, image);
  await assertIdentical(restored, s2Sha, 'restic restore');
  await rm(target, { recursive: true, force: true });
  await rm(image, { force: true });
  await step('verify (check --read-data)', ['check', '--read-data']);
  return { version, steps, summaries };
}
