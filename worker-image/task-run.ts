// Runs one worker task: opens the repository, then backs up EBS snapshots or restores a disk into a new EBS snapshot.
import { createHash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { EBSClient } from '@aws-sdk/client-ebs';
import { EC2Client } from '@aws-sdk/client-ec2';
import type { KMSClient } from '@aws-sdk/client-kms';
import { openStore } from '../cli/repo-url.ts';
import { systemClock } from '../core/clock.ts';
import type { ScryptParams } from '../core/crypto/passphrase-key-provider.ts';
import type { BlockProcessor, ProcessorSetup } from '../core/engine/block-processor.ts';
import type { ProgressListener } from '../core/engine/progress.ts';
import { restoreDisk } from '../core/engine/restore.ts';
import { InvalidArgumentError } from '../core/errors.ts';
import type { BackupStats, StageStats } from '../core/repo/manifest.ts';
import { Repository } from '../core/repo/repository.ts';
import { EbsReadQuota } from '../providers/aws/ebs-read-quota.ts';
import { EbsSnapshotSink } from '../providers/aws/ebs-snapshot-sink.ts';
import { EbsSnapshotSource } from '../providers/aws/ebs-snapshot-source.ts';
import { keyProviderFromSpec } from '../providers/key-providers.ts';
import type { WorkerTask } from './task.ts';
import { backupFromTask } from './task-backup.ts';
import { ThreadBlockProcessor } from './thread-block-processor.ts';

const GiB = 1024 ** 3;

/** What SendTaskSuccess carries back to the state machine. */
export interface TaskOutput {
  kind: 'backup' | 'restore';
  pointId: string;
  stats: BackupOutputStats | RestoreOutputStats;
  /** The new snapshot of a restore. */
  snapshotId?: string;
}

export type BackupOutputStats = BackupStats & { kind: 'full' | 'incremental'; heartbeats?: number };

export interface RestoreOutputStats {
  disk: string;
  bytesWritten: number;
  bytesRead: number;
  requests: number;
  blocksWritten: number;
  durationMs: number;
  stages: StageStats;
  bottleneck: string;
}

export interface TaskRunDeps {
  env: Readonly<Record<string, string | undefined>>;
  /** SDK clients; by default built for the task's region (AWS_ENDPOINT_URL_EBS / _EC2 apply). */
  ebs?: EBSClient;
  ec2?: EC2Client;
  kms?: KMSClient;
  /** Worker threads of the block processor (default: every core). */
  threads?: number;
  /** Instead of a ThreadBlockProcessor. */
  processor?: (setup: ProcessorSetup) => BlockProcessor;
  /** For a new passphrase key only; tests. */
  scrypt?: ScryptParams;
  onProgress?: ProgressListener;
  /** Called with a line worth logging (phase changes). */
  note?: (message: string, extra?: Record<string, unknown>) => void;
  signal?: AbortSignal;
}

/** The StartSnapshot client token of a restore: the same task retried gets the same snapshot. */
export function restoreClientToken(task: WorkerTask): string {
  return createHash('sha256').update(`cloudkeep-restore\0${task.taskToken}`).digest('hex');
}

export async function runTask(task: WorkerTask, deps: TaskRunDeps): Promise<TaskOutput> {
  const { signal } = deps;
  const note = deps.note ?? (() => undefined);
  const store = await openStore(task.repository);
  const provider = keyProviderFromSpec(task.key, deps.env, { kmsClient: deps.kms, scrypt: deps.scrypt });
  const repo = await Repository.open(store, [provider], systemClock, { signal });
  note('repository opened', { repositoryId: repo.config.id });
  const setup: ProcessorSetup = { chunking: repo.params.chunking, compressionLevel: repo.params.compression.level, chunkIdKey: repo.master.chunkIdKey, treeIdKey: repo.master.treeIdKey };
  const processor = deps.processor?.(setup) ?? new ThreadBlockProcessor(setup, deps.threads ?? availableParallelism());
  // maxAttempts 1: throttling reaches the shared quota, which backs off and counts the time.
  const clients = { ...deps, ebs: deps.ebs ?? new EBSClient({ region: task.region, maxAttempts: 1 }), ec2: deps.ec2 ?? new EC2Client({ region: task.region }) };
  try {
    return task.kind === 'backup' ? await backup(task, clients, repo, processor, note) : await restore(task, clients, repo, processor, note);
  } finally {
    await processor.close();
  }
}

async function backup(task: WorkerTask, deps: TaskRunDeps, repo: Repository, processor: BlockProcessor, note: NonNullable<TaskRunDeps['note']>): Promise<TaskOutput> {
  const { signal } = deps;
  const rps = task.limits?.readRps;
  const quota = new EbsReadQuota({ snapshotRps: rps?.snapshot, accountRps: rps?.account });
  const source = new EbsSnapshotSource({ region: task.region, ebs: deps.ebs, ec2: deps.ec2, quota });
  note('backup started', { disks: task.disks.length, parent: task.parentPointId ?? null });
  return backupFromTask(task, { repo, source, processor, signal, onProgress: deps.onProgress });
}

async function restore(task: WorkerTask, deps: TaskRunDeps, repo: Repository, processor: BlockProcessor, note: NonNullable<TaskRunDeps['note']>): Promise<TaskOutput> {
  const { signal } = deps;
  const r = task.restore!;
  const manifest = await repo.readManifest(r.pointId, { signal });
  const disk = manifest.disks.find((d) => d.name === r.disk);
  if (!disk) throw new InvalidArgumentError(`restore point ${manifest.id} has no disk ${JSON.stringify(r.disk)}; it has ${manifest.disks.map((d) => d.name).join(', ')}`);
  if (r.targetVolumeSizeGiB * GiB < disk.size) {
    throw new InvalidArgumentError(`targetVolumeSizeGiB ${r.targetVolumeSizeGiB} is smaller than disk ${disk.name} (${Math.ceil(disk.size / GiB)} GiB)`);
  }
  const sink = new EbsSnapshotSink({
    ebs: deps.ebs!,
    ec2: deps.ec2,
    volumeSize: r.targetVolumeSizeGiB * GiB,
    description: `Cloudkeep restore of ${manifest.id} disk ${disk.name}`,
    tags: r.tags,
    kmsKeyArn: r.kmsKeyArn,
    clientToken: restoreClientToken(task),
  });
  note('restore started', { pointId: manifest.id, disk: disk.name });
  try {
    const index = await repo.loadIndexForRestore({ signal });
    const res = await restoreDisk({ repo, index, processor, signal, onProgress: deps.onProgress }, manifest, disk.name, sink);
    const stats: RestoreOutputStats = { disk: disk.name, ...res, blocksWritten: sink.blocksWritten };
    return { kind: 'restore', pointId: manifest.id, snapshotId: sink.snapshotId ?? undefined, stats };
  } catch (err) {
    // A half-written snapshot would linger in error state: delete it (best effort).
    if (sink.snapshotId) await sink.cleanup().catch(() => undefined);
    throw err;
  }
}
