// The embedded default's demo on a local plane: the demo policy through the state machine twice (a full
// or chained backup, then ~2% of every volume's blocks changed and an incremental reading only those),
// a restore of one volume checked byte for byte (sha256) against its snapshot, and a full verify.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { restoreDisk, type RestoreResult } from '../core/engine/restore.ts';
import { verifyRepository, type VerifyReport } from '../core/maintenance/verify.ts';
import type { Repository } from '../core/repo/repository.ts';
import { formatBytes, formatRate } from '../core/util/units.ts';
import { FileVolumeSink } from '../providers/local/file-volume-sink.ts';
import { mutateImage } from '../providers/local/image-generator.ts';
import type { LocalWorkerOutput } from '../providers/local/local-worker-launcher.ts';
import { withProcessor } from './context.ts';
import { CheckFailedError } from './errors.ts';
import type { LocalPlane } from './local-plane.ts';
import type { LocalRunResult } from './local-run.ts';

export interface DemoRun {
  sessionId: string;
  workers: Record<string, LocalWorkerOutput>;
}

export interface DemoResult {
  repository: string;
  runs: [DemoRun, DemoRun];
  changedBlocks: number;
  restore: RestoreResult & { pointId: string; volumeId: string; size: number; target: string; sha256: string; identical: boolean };
  verify: Pick<VerifyReport, 'ok' | 'problems'>;
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 8 * 1024 * 1024 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

const stats = (run: DemoRun) => Object.values(run.workers).map((w) => w.stats);
const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
/** The workers of a run go side by side: its duration is the longest one's. */
const longest = (all: Array<{ durationMs: number }>) => Math.max(0, ...all.map((s) => s.durationMs));

/** One line per volume of a run. */
function runLines(label: string, run: DemoRun): string[] {
  return [`${label}: session ${run.sessionId}`, ...Object.entries(run.workers).sort().map(([id, w]) => {
    const s = w.stats;
    return `  ${id}: ${s.kind} restore point ${w.pointId}, read ${formatBytes(s.bytesRead)} of ${formatBytes(s.bytesTotal)} in ${(s.durationMs / 1000).toFixed(2)} s, stored ${formatBytes(s.bytesStored)}; bottleneck ${s.bottleneck}`;
  })];
}

async function checkedRun(plane: LocalPlane, policyId: string, account: string, label: string, say: (line: string) => void): Promise<DemoRun> {
  const r: LocalRunResult = await plane.run(policyId, { account, force: true });
  if (r.status !== 'succeeded') throw new CheckFailedError(`${label} (session ${r.sessionId}) ended ${r.status}: ${r.session?.message ?? r.tasks.map((t) => t.error).filter(Boolean).join('; ')}`);
  const run = { sessionId: r.sessionId, workers: r.workers };
  for (const line of runLines(label, run)) say(line);
  return run;
}

/** Runs the demo on the plane's demo policy (applied already) and its repository. */
export async function runDemo(plane: LocalPlane, repo: Repository, say: (line: string) => void): Promise<DemoResult> {
  const policy = plane.demoPolicy();
  const account = policy.account.id;
  const first = await checkedRun(plane, policy.id, account, 'run 1', say);
  let changedBlocks = 0;
  for (const id of await plane.discovery.volumeIds()) {
    const { size } = await plane.volumes.describeVolume(id);
    const changed = await mutateImage(
      { size, write: (off, data) => plane.volumes.writeVolume(id, off, data), read: (off, len) => plane.volumes.readVolume(id, off, len) },
      { seed: `cloudkeep-start-${id}-${Date.now()}`, blockFraction: 0.02, blockSize: plane.volumes.blockSize },
    );
    changedBlocks += changed.length;
    say(`changed ${changed.length} blocks of ${id} (${formatBytes(changed.length * plane.volumes.blockSize)})`);
  }
  const second = await checkedRun(plane, policy.id, account, 'run 2', say);
  const [volumeId, newest] = Object.entries(second.workers).sort()[0];
  const manifest = await repo.readManifest(newest.pointId);
  const disk = manifest.disks[0];
  const target = join(plane.dir, 'restores', `${volumeId}-check.img`);
  await mkdir(join(plane.dir, 'restores'), { recursive: true });
  await rm(target, { force: true });
  return withProcessor(repo, plane.g, async (processor) => {
    const sink = new FileVolumeSink(target);
    const restored = await restoreDisk({ repo, index: await repo.loadIndexForRestore(), processor }, manifest, disk.name, sink).finally(() => sink.close());
    const sha256 = await sha256File(target);
    const identical = sha256 === (await sha256File(plane.volumes.snapshotPath(disk.snapshotId)));
    say(`restored ${manifest.id} of ${volumeId} to ${target} in ${(restored.durationMs / 1000).toFixed(1)} s (${formatRate(disk.size, restored.durationMs)}): ${identical ? 'identical to the snapshot' : 'DIFFERENT from the snapshot'} (sha256 ${sha256.slice(0, 16)}…)`);
    const verify = await verifyRepository(repo, processor, { full: true });
    return { repository: repo.store.description, runs: [first, second], changedBlocks, restore: { ...restored, pointId: manifest.id, volumeId, size: disk.size, target, sha256, identical }, verify: { ok: verify.ok, problems: verify.problems } };
  });
}

/** The most frequent value. */
function mostCommon(values: string[]): string {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1])[0]?.[0] ?? 'none';
}

/** The summary: sizes, reduction, throughput, bottleneck, verify. */
export function demoSummary(r: DemoResult, passphraseHint: string | undefined, repoPath: string): string[] {
  const [first, second] = r.runs.map(stats);
  const all = [...first, ...second];
  const logical = sum(all.map((s) => s.bytesTotal));
  const stored = sum(all.map((s) => s.bytesStored));
  const sizes = [...new Set(first.map((s) => formatBytes(s.bytesTotal)))].join(', ');
  const full = first.every((s) => s.kind === 'full');
  const label = full ? 'full backup' : 'run 1 (incremental: this directory was backed up by an earlier start; --fresh starts over)';
  return [
    '',
    `summary: ${all.length} restore points of ${first.length} volumes (${sizes} each) stored in ${formatBytes(stored)} (reduction ${(logical / Math.max(1, stored)).toFixed(1)}x)`,
    `  ${label} ${formatRate(sum(first.map((s) => s.bytesTotal)), longest(first))} (${first.length} workers in parallel), incremental ${(longest(second) / 1000).toFixed(2)} s for ${sum(second.map((s) => s.blocksRead))} changed blocks, restore ${formatRate(r.restore.size, r.restore.durationMs)}`,
    `  bottleneck of ${full ? 'the full backup' : 'run 1'}: ${mostCommon(first.map((s) => s.bottleneck))}; restore: ${r.restore.identical ? 'identical to the snapshot' : 'DIFFERENT from the snapshot'}; verify: ${r.verify.ok ? 'clean' : `${r.verify.problems.length} problems`}`,
    ...(passphraseHint ? [`  try: CLOUDKEEP_PASSPHRASE=$(cat ${passphraseHint}) npx cloudkeep points list --repo ${repoPath}`] : []),
  ];
}
