// A worker task's restore: each chosen disk of a restore point into a new EBS snapshot (EBS direct APIs), owner checked first.
import { createHash } from 'node:crypto';
import type { EBSClient } from '@aws-sdk/client-ebs';
import type { EC2Client } from '@aws-sdk/client-ec2';
import type { BlockProcessor } from '../core/engine/block-processor.ts';
import type { ProgressListener } from '../core/engine/progress.ts';
import { restoreDisk, type RestoreResult } from '../core/engine/restore.ts';
import { InvalidArgumentError } from '../core/errors.ts';
import type { Manifest, ResourceRef } from '../core/repo/manifest.ts';
import type { Repository } from '../core/repo/repository.ts';
import { EbsSnapshotSink } from '../providers/aws/ebs-snapshot-sink.ts';
import type { WorkerTask } from './task.ts';

const GiB = 1024 ** 3;

/** One disk restored into a new snapshot. */
export interface RestoredDisk {
  disk: string;
  snapshotId: string;
  sizeGiB: number;
  /** The volume the disk was backed up from. */
  volumeId: string;
}

export type RestoreOutputStats = Omit<RestoreResult, 'stages' | 'bottleneck'> & { disks: string[]; blocksWritten: number; stages: RestoreResult['stages']; bottleneck: string };

/** What a restore task reports with SendTaskSuccess. */
export interface RestoreTaskOutput {
  kind: 'restore';
  pointId: string;
  /** The first disk's new snapshot (single-disk restores). */
  snapshotId?: string;
  snapshots: RestoredDisk[];
  /** The backed-up resource and the point's tags (the instance configuration recorded at backup time). */
  resource: ResourceRef;
  tags: Record<string, string>;
  stats: RestoreOutputStats;
}

/** The restore point belongs to another account than the task's: nothing is restored. */
export class ForeignRestorePointError extends InvalidArgumentError {
  constructor(message: string) {
    super(message);
    this.name = 'Cloudkeep.ForeignRestorePoint';
  }
}

export interface RestoreTaskContext {
  repo: Repository;
  processor: BlockProcessor;
  ebs: EBSClient;
  ec2?: EC2Client;
  signal?: AbortSignal;
  onProgress?: ProgressListener;
  note?: (message: string, extra?: Record<string, unknown>) => void;
}

/** The StartSnapshot client token of one disk of a restore: the same task retried gets the same snapshot. */
export function restoreClientToken(task: WorkerTask, disk: string): string {
  return createHash('sha256').update(`cloudkeep-restore\0${task.taskToken}\0${disk}`).digest('hex');
}

/** The point's disks the task names (all when it names none); InvalidArgumentError naming what exists otherwise. */
export function disksToRestore(manifest: Manifest, names: readonly string[] | undefined): Manifest['disks'] {
  if (!names) return manifest.disks;
  return names.map((name) => {
    const disk = manifest.disks.find((d) => d.name === name);
    if (!disk) throw new InvalidArgumentError(`restore point ${manifest.id} has no disk ${JSON.stringify(name)}; it has ${manifest.disks.map((d) => d.name).join(', ') || 'none'}`);
    return disk;
  });
}

function sum(results: RestoreResult[], disks: string[], blocksWritten: number): RestoreOutputStats {
  const add = (k: 'bytesWritten' | 'bytesRead' | 'requests' | 'durationMs') => results.reduce((n, r) => n + r[k], 0);
  const stages = { sourceRead: 0, processing: 0, targetWrite: 0, throttling: 0 };
  for (const r of results) for (const k of Object.keys(stages) as (keyof typeof stages)[]) stages[k] += r.stages[k];
  const slowest = [...results].sort((a, b) => b.durationMs - a.durationMs)[0];
  return { disks, bytesWritten: add('bytesWritten'), bytesRead: add('bytesRead'), requests: add('requests'), durationMs: add('durationMs'), blocksWritten, stages, bottleneck: slowest?.bottleneck ?? 'none' };
}

export async function restoreFromTask(task: WorkerTask, ctx: RestoreTaskContext): Promise<RestoreTaskOutput> {
  const { repo, signal } = ctx;
  const r = task.restore!;
  const manifest = await repo.readManifest(r.pointId, { signal });
  if (manifest.resource.account !== task.account) {
    throw new ForeignRestorePointError(`restore point ${manifest.id} belongs to account ${manifest.resource.account ?? '(none)'}, not ${task.account}: an account restores only its own points`);
  }
  const disks = disksToRestore(manifest, r.disk ? [r.disk] : r.disks);
  for (const d of disks) {
    if (r.targetVolumeSizeGiB !== undefined && r.targetVolumeSizeGiB * GiB < d.size) {
      throw new InvalidArgumentError(`targetVolumeSizeGiB ${r.targetVolumeSizeGiB} is smaller than disk ${d.name} (${Math.ceil(d.size / GiB)} GiB)`);
    }
  }
  ctx.note?.('restore started', { pointId: manifest.id, disks: disks.length });
  const index = await repo.loadIndexForRestore({ signal });
  const sinks: EbsSnapshotSink[] = [];
  const results: RestoreResult[] = [];
  const snapshots: RestoredDisk[] = [];
  try {
    for (const disk of disks) {
      const sizeGiB = r.targetVolumeSizeGiB ?? Math.max(1, Math.ceil(disk.size / GiB));
      const sink = new EbsSnapshotSink({
        ebs: ctx.ebs, ec2: ctx.ec2, volumeSize: sizeGiB * GiB, description: `Cloudkeep restore of ${manifest.id} disk ${disk.name}`,
        tags: r.tags, kmsKeyArn: r.kmsKeyArn, clientToken: restoreClientToken(task, disk.name),
      });
      sinks.push(sink);
      results.push(await restoreDisk({ repo, index, processor: ctx.processor, signal, onProgress: ctx.onProgress }, manifest, disk.name, sink));
      // finish() started the snapshot even for an all-zero disk.
      snapshots.push({ disk: disk.name, snapshotId: sink.snapshotId!, sizeGiB, volumeId: disk.volumeId });
      ctx.note?.('disk restored', { disk: disk.name, snapshotId: sink.snapshotId });
    }
  } catch (err) {
    // Half-written snapshots would linger in error state, and finished ones are useless alone: delete them (best effort).
    await Promise.all(sinks.map((s) => s.cleanup().catch(() => undefined)));
    throw err;
  }
  const stats = sum(results, disks.map((d) => d.name), sinks.reduce((n, s) => n + s.blocksWritten, 0));
  return { kind: 'restore', pointId: manifest.id, snapshotId: snapshots[0]?.snapshotId, snapshots, resource: manifest.resource, tags: manifest.tags, stats };
}
