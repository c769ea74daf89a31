// A worker task's backup: its disks, base snapshots and parent point become one runBackup request.
// Shared by the EC2 worker and the embedded default's in-process worker; no cloud SDK here.
import { runBackup } from '../core/engine/backup-session.ts';
import type { BlockProcessor } from '../core/engine/block-processor.ts';
import type { ProgressListener } from '../core/engine/progress.ts';
import { InvalidArgumentError } from '../core/errors.ts';
import type { BackupStats } from '../core/repo/manifest.ts';
import type { Repository } from '../core/repo/repository.ts';
import type { SnapshotSource } from '../core/snapshot/snapshot-source.ts';
import type { WorkerTask } from './task.ts';

/** What a backup task reports with SendTaskSuccess. */
export interface BackupTaskOutput {
  kind: 'backup';
  pointId: string;
  stats: BackupStats & { kind: 'full' | 'incremental' };
}

export interface BackupTaskContext {
  repo: Repository;
  source: SnapshotSource;
  processor: BlockProcessor;
  signal?: AbortSignal;
  onProgress?: ProgressListener;
}

export async function backupFromTask(task: WorkerTask, ctx: BackupTaskContext): Promise<BackupTaskOutput> {
  const { repo, signal } = ctx;
  const parent = task.parentPointId ? await repo.readManifest(task.parentPointId, { signal }) : null;
  if (parent && parent.resource.id !== task.resource.id) {
    throw new InvalidArgumentError(`parent point ${parent.id} belongs to resource ${parent.resource.id}, not ${task.resource.id}`);
  }
  const manifest = await runBackup({
    repo,
    source: ctx.source,
    processor: ctx.processor,
    signal,
    onProgress: ctx.onProgress,
    request: {
      resource: { ...task.resource, provider: 'aws' },
      parent,
      tags: task.tags,
      disks: task.disks.map((d) => ({
        name: d.name,
        snapshot: { snapshotId: d.snapshotId, volumeId: d.volumeId },
        baseSnapshot: d.baseSnapshotId ? { snapshotId: d.baseSnapshotId, volumeId: d.volumeId } : null,
      })),
    },
  });
  return { kind: 'backup', pointId: manifest.id, stats: { ...manifest.stats, kind: manifest.kind } };
}
