// Runs one worker task: opens the repository, then backs up EBS snapshots or restores disks into new EBS snapshots.
import { availableParallelism } from 'node:os';
import { EBSClient } from '@aws-sdk/client-ebs';
import { EC2Client } from '@aws-sdk/client-ec2';
import type { KMSClient } from '@aws-sdk/client-kms';
import { openStore } from '../cli/repo-url.ts';
import { systemClock } from '../core/clock.ts';
import type { ScryptParams } from '../core/crypto/passphrase-key-provider.ts';
import type { BlockProcessor, ProcessorSetup } from '../core/engine/block-processor.ts';
import type { ProgressListener } from '../core/engine/progress.ts';
import { Repository } from '../core/repo/repository.ts';
import { EbsReadQuota } from '../providers/aws/ebs-read-quota.ts';
import { EbsSnapshotSource } from '../providers/aws/ebs-snapshot-source.ts';
import { keyProviderFromSpec } from '../providers/key-providers.ts';
import type { WorkerTask } from './task.ts';
import { backupFromTask, type BackupTaskOutput } from './task-backup.ts';
import { restoreFromTask, type RestoreTaskOutput } from './task-restore.ts';
import { ThreadBlockProcessor } from './thread-block-processor.ts';

/** What SendTaskSuccess carries back to the state machine. */
export type TaskOutput = (BackupTaskOutput & { stats: BackupTaskOutput['stats'] & { heartbeats?: number } }) | (RestoreTaskOutput & { stats: RestoreTaskOutput['stats'] & { heartbeats?: number } });

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
  return restoreFromTask(task, { repo, processor, ebs: deps.ebs!, ec2: deps.ec2, signal: deps.signal, onProgress: deps.onProgress, note });
}
