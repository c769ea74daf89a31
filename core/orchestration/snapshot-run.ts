// Take and check the snapshots of one resource in a run.
import { SnapshotFailedError } from './errors.ts';
import type { SnapshotInfo, Snapshotter } from './ports.ts';
import type { ResourceItem } from './run-types.ts';

/** A volume snapshot of the run: what the worker reads. */
export interface VolumeSnapshot {
  snapshotId: string;
  volumeId: string;
  sizeGiB?: number;
}

export interface SnapshotProgress {
  snapshotIds: string[];
  complete: boolean;
  /** The EC2 snapshots with their volumes (absent or empty for databases). */
  volumes?: VolumeSnapshot[];
}

export const volumesOf = (found: readonly SnapshotInfo[]): VolumeSnapshot[] =>
  found.filter((s) => s.volumeId).map((s) => ({ snapshotId: s.id, volumeId: s.volumeId as string, ...(s.sizeGiB !== undefined ? { sizeGiB: s.sizeGiB } : {}) }));

const targetOf = (item: ResourceItem) => ({ type: item.resource.type, id: item.resource.id, region: item.resource.region });

/** Starts the resource's snapshots (one crash-consistent set for an instance), tagged for the run. */
export async function takeSnapshots(snapshotter: Snapshotter, item: ResourceItem): Promise<SnapshotProgress> {
  const created = await snapshotter.create(targetOf(item), item.tags);
  return { snapshotIds: created.map((s) => s.id), complete: created.every((s) => s.status === 'completed'), volumes: volumesOf(created) };
}

/** complete when every snapshot completed; SnapshotFailedError when one ended in error. */
export async function checkSnapshots(snapshotter: Snapshotter, item: ResourceItem, ids: readonly string[]): Promise<SnapshotProgress> {
  const found = await snapshotter.describe(targetOf(item), ids);
  const failed = found.filter((s) => s.status === 'error');
  if (failed.length > 0) throw new SnapshotFailedError(`snapshot ${failed.map((s) => s.id).join(', ')} of ${item.resource.id} failed in ${item.resource.region}`);
  const missing = ids.filter((id) => !found.some((s) => s.id === id));
  if (missing.length > 0) throw new SnapshotFailedError(`snapshot ${missing.join(', ')} of ${item.resource.id} disappeared in ${item.resource.region}`);
  return { snapshotIds: [...ids], complete: found.every((s) => s.status === 'completed'), volumes: volumesOf(found) };
}
