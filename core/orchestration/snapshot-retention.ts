// Snapshot retention per resource: which Cloudkeep snapshots to delete, never a volume's changed-block base.
import { asAccountId, asRegionName, asVolumeId } from '../control/control-ids.ts';
import type { VolumeStateStore } from '../control/control-store.ts';
import { applyRetention } from '../retention/apply-retention.ts';
import type { RetentionPolicy } from '../retention/retention-policy.ts';
import type { SnapshotInfo, Snapshotter } from './ports.ts';
import { SNAPSHOT_TAGS, type ResourceItem } from './run-types.ts';

export interface SnapshotRetentionDecision {
  remove: SnapshotInfo[];
  keep: SnapshotInfo[];
  /** Retention would remove these, but a volume's next incremental diffs against them. */
  protected: SnapshotInfo[];
}

/**
 * Applies `retention` to each volume's completed snapshots on its own (an instance's volumes are
 * separate chains; database snapshots form one group). Pending and failed snapshots are left
 * alone, and snapshots in `protectedIds` (volume-state bases) are never removed.
 */
export function decideSnapshotRetention(snapshots: readonly SnapshotInfo[], retention: RetentionPolicy, protectedIds: ReadonlySet<string>, now: number): SnapshotRetentionDecision {
  const groups = new Map<string, SnapshotInfo[]>();
  for (const s of snapshots) {
    if (s.status !== 'completed') continue;
    const key = s.volumeId ?? '';
    groups.set(key, [...(groups.get(key) ?? []), s]);
  }
  const decision: SnapshotRetentionDecision = { remove: [], keep: [], protected: [] };
  for (const group of groups.values()) {
    const result = applyRetention(group.map((s) => ({ id: s.id, time: s.startTime, snapshot: s })), retention, now);
    decision.keep.push(...result.keep.map((k) => k.point.snapshot));
    for (const point of result.remove) (protectedIds.has(point.id) ? decision.protected : decision.remove).push(point.snapshot);
  }
  return decision;
}

export interface PruneResult {
  deleted: string[];
  kept: string[];
  protected: string[];
}

/** Lists the resource's Cloudkeep snapshots, decides, and deletes what retention drops. */
export async function pruneResourceSnapshots(snapshotter: Snapshotter, volumes: VolumeStateStore, item: ResourceItem, now: number): Promise<PruneResult> {
  if (!item.retention) return { deleted: [], kept: [], protected: [] };
  const { resource, run } = item;
  const target = { type: resource.type, id: resource.id, region: resource.region };
  const snapshots = await snapshotter.list(target, { [SNAPSHOT_TAGS.managed]: SNAPSHOT_TAGS.managedValue, [SNAPSHOT_TAGS.resource]: resource.id });
  const bases = new Set<string>();
  for (const volumeId of resource.volumeIds) {
    const state = await volumes.getVolumeState(asAccountId(run.account), asRegionName(resource.region), asVolumeId(volumeId));
    if (state) bases.add(state.baseSnapshotId);
  }
  const decision = decideSnapshotRetention(snapshots, item.retention, bases, now);
  for (const s of decision.remove) await snapshotter.delete(target, s.id);
  return { deleted: decision.remove.map((s) => s.id), kept: decision.keep.map((s) => s.id), protected: decision.protected.map((s) => s.id) };
}
