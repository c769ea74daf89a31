// After a worker's backup: each disk's snapshot becomes its volume's changed-block base for the next incremental.
import type { ControlStore } from '../control/control-store.ts';
import { asAccountId, asRegionName, asVolumeId } from '../control/control-ids.ts';

export interface BackedUpVolume {
  volumeId: string;
  snapshotId: string;
}

/**
 * Records the new base and restore point per volume, compare-and-set on the previous base so two
 * runs can't both advance it. Runs before snapshot retention, which never deletes a base.
 */
export async function recordVolumeStates(store: ControlStore, account: string, region: string, volumes: readonly BackedUpVolume[], pointId: string): Promise<void> {
  const acc = asAccountId(account);
  const reg = asRegionName(region);
  for (const v of volumes) {
    const volumeId = asVolumeId(v.volumeId);
    const previous = await store.getVolumeState(acc, reg, volumeId);
    await store.setVolumeState(acc, reg, volumeId, { baseSnapshotId: v.snapshotId, lastRestorePointId: pointId }, previous?.baseSnapshotId ?? null);
  }
}
