// Runs one benchmark step as a child process under /usr/bin/time and measures wall, CPU, peak RSS and repository growth.
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

export const GiB = 1024 ** 3;
export const MiB = 1024 ** 2;

export interface Timed {
  wallS: number;
  userS: number;
  sysS: number;
  maxRssKiB: number;
  stdout: string;
  stderr: string;
}

/** One measured step as it goes into the table and results.json. */
export interface Step {
  tool: string;
  step: string;
  wallS: number;
  userS: number;
  sysS: number;
  maxRssKiB: number;
  /** Repository size (sum of file sizes) and file count after the step; null when no repository is involved. */
  repoBytes: number | null;
  repoFiles: number | null;
  /** Files in the repository after minus before the step. */
  objectsWritten: number | null;
  /** CPU seconds the machine spent beyond the step's own user + sys: other processes, or kernel threads writing back its files. */
  otherCpuS: number;
}

const TIME_FORMAT = '%e %U %S %M';
const TIME_LINE = /^(\d+(?:\.\d+)?) (\d+(?:\.\d+)?) (\d+(?:\.\d+)?) (\d+)$/;

/** Runs cmd under `/usr/bin/time -f '%e %U %S %M'`; throws with the stderr tail when it fails. */
export function timed(cmd: string, args: string[], env: Record<string, string> = {}): Promise<Timed> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn('/usr/bin/time', ['-f', TIME_FORMAT, cmd, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (code) => {
      const stdout = Buffer.concat(out).toString('utf8');
      const stderr = Buffer.concat(err).toString('utf8');
      const lines = stderr.trimEnd().split('\n');
      const m = TIME_LINE.exec(lines.at(-1) ?? '');
      if (code !== 0 || !m) {
        reject(new Error(`${cmd} ${args.join(' ')} failed (exit ${code}):\n${stderr.slice(-4000)}\n${stdout.slice(-2000)}`));
        return;
      }
      resolvePromise({
        wallS: Number(m[1]), userS: Number(m[2]), sysS: Number(m[3]), maxRssKiB: Number(m[4]),
        stdout, stderr: lines.slice(0, -1).join('\n'),
      });
    });
  });
}

/** Sum of file sizes and number of files under dir (0/0 when it does not exist). */
export async function dirStats(dir: string): Promise<{ bytes: number; files: number }> {
  let bytes = 0;
  let files = 0;
  const entries = await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => []);
  for (const e of entries) {
    if (!e.isFile()) continue;
    bytes += (await stat(join(e.parentPath, e.name))).size;
    files++;
  }
  return { bytes, files };
}

/** Busy CPU seconds of the whole machine so far, from /proc/stat (USER_HZ = 100). */
async function machineCpuS(): Promise<number> {
  const fields = (await readFile('/proc/stat', 'utf8')).split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, , , irq, softirq, steal] = fields;
  return (user + nice + system + irq + softirq + steal) / 100;
}

/** Waits (up to BENCH_QUIET_WAIT s, default 60) until other processes leave the cores idle for a second. */
async function waitForQuiet(): Promise<void> {
  const limit = Number(process.env.BENCH_QUIET_WAIT ?? 60);
  const started = Date.now();
  for (;;) {
    const before = await machineCpuS();
    await new Promise((r) => setTimeout(r, 1000));
    const busy = (await machineCpuS()) - before;
    if (busy < 0.15) return;
    if (Date.now() - started > limit * 1000) {
      process.stdout.write(`(machine still busy after ${limit} s: measuring anyway) `);
      return;
    }
  }
}

/**
 * Reads files (directories: every file under them) through once. This VM's kernel reclaims idle
 * page-cache pages in the background (DAMON), so without it a step may find its input partly on
 * disk and the next step, of the other tool, in memory: every step starts from cached inputs.
 */
export async function warmPaths(paths: string[]): Promise<void> {
  const buffer = Buffer.allocUnsafe(8 * MiB);
  for (const path of paths) {
    const info = await stat(path).catch(() => null);
    if (!info) continue;
    if (info.isDirectory()) {
      const entries = await readdir(path, { withFileTypes: true, recursive: true });
      await warmPaths(entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name)));
      continue;
    }
    const handle = await open(path, 'r');
    try {
      while ((await handle.read(buffer, 0, buffer.length)).bytesRead > 0);
    } finally {
      await handle.close();
    }
  }
}

/**
 * Runs a step and records the repository's size and growth around it; first reads its inputs (the
 * repository and `warm`) through, flushes earlier steps' dirty pages and waits for idle cores.
 */
export async function measureStep(
  tool: string, step: string, repoDir: string | null, cmd: string, args: string[], env: Record<string, string> = {}, warm: string[] = [],
): Promise<{ step: Step; out: Timed }> {
  process.stdout.write(`  ${tool}: ${step} ... `);
  await warmPaths([...(repoDir ? [repoDir] : []), ...warm]);
  execFileSync('sync');
  await waitForQuiet();
  const before = repoDir ? await dirStats(repoDir) : null;
  const cpuBefore = await machineCpuS();
  const out = await timed(cmd, args, env);
  const otherCpuS = Math.max(0, Number(((await machineCpuS()) - cpuBefore - out.userS - out.sysS).toFixed(2)));
  const after = repoDir ? await dirStats(repoDir) : null;
  process.stdout.write(`${out.wallS.toFixed(2)} s, ${(out.maxRssKiB / 1024).toFixed(0)} MiB RSS${otherCpuS > 0.3 ? `; ${otherCpuS} CPU s used outside it` : ''}\n`);
  return {
    out,
    step: {
      tool, step, wallS: out.wallS, userS: out.userS, sysS: out.sysS, maxRssKiB: out.maxRssKiB,
      repoBytes: after?.bytes ?? null, repoFiles: after?.files ?? null,
      objectsWritten: after && before ? after.files - before.files : null, otherCpuS,
    },
  };
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 8 * MiB })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Throws unless the file at path has the expected digest: a benchmark of a wrong restore means nothing. */
export async function assertIdentical(path: string, expected: string, what: string): Promise<void> {
  const actual = await sha256File(path);
  if (actual !== expected) throw new Error(`${what}: ${path} differs from the snapshot (sha256 ${actual} != ${expected})`);
  process.stdout.write(`  ${what}: byte-identical to the snapshot (sha256 ${actual.slice(0, 16)}…)\n`);
}
