// The restore steps after the worker: volumes or a whole instance from the restored snapshots, and cleanup after a failure.
import { createHash } from 'node:crypto';
import { InvalidArgumentError } from '../errors.ts';
import { CloudCallError } from './errors.ts';
import { instanceConfigFromTags } from './instance-config.ts';
import type { RestoreTargets, VolumeInfo } from './restore-ports.ts';
import { RESTORE_TAG, type RestoredPoint, type RestorePlan, type RestoreTargetRef } from './restore-types.ts';

export interface VolumeProgress {
  volumeIds: string[];
  available: boolean;
}

const token = (...parts: string[]) => createHash('sha256').update(parts.join('\0')).digest('hex').slice(0, 64);

/** One volume per restored snapshot in the requested zone (shared first when the target is another account). */
export async function createVolumes(targets: RestoreTargets, plan: RestorePlan, restored: RestoredPoint): Promise<VolumeProgress> {
  const v = plan.volume;
  if (!v) throw new InvalidArgumentError(`restore ${plan.restoreId} asks for no volume`);
  const { region, accountId } = plan.target;
  const volumes: VolumeInfo[] = [];
  for (const s of restored.snapshots) {
    if (v.sizeGiB !== undefined && v.sizeGiB < s.sizeGiB) throw new InvalidArgumentError(`volume.sizeGiB ${v.sizeGiB} is smaller than disk ${s.disk} (${s.sizeGiB} GiB)`);
    if (accountId) await targets.own.shareSnapshot(region, s.snapshotId, accountId);
    volumes.push(await targets.target.createVolume({
      region, availabilityZone: v.availabilityZone, snapshotId: s.snapshotId, sizeGiB: v.sizeGiB ?? s.sizeGiB, volumeType: v.volumeType ?? 'gp3',
      ...(v.iops ? { iops: v.iops } : {}), ...(v.throughput ? { throughput: v.throughput } : {}),
      tags: { ...plan.tags, Name: `restore of ${s.disk} from ${restored.pointId}`.slice(0, 256) }, clientToken: token(plan.restoreId, s.disk),
    }));
  }
  return { volumeIds: volumes.map((x) => x.id), available: volumes.every((x) => x.state === 'available') };
}

/** available once every volume is; a volume in error fails the restore. */
export async function checkVolumes(targets: RestoreTargets, plan: RestorePlan, volumeIds: readonly string[]): Promise<VolumeProgress> {
  const found = await targets.target.describeVolumes(plan.target.region, volumeIds);
  const failed = found.filter((x) => x.state === 'error');
  if (failed.length > 0) throw new CloudCallError(`volume ${failed.map((x) => x.id).join(', ')} of restore ${plan.restoreId} ended in error in ${plan.target.region}`, { retryable: false });
  const missing = volumeIds.filter((id) => !found.some((x) => x.id === id));
  if (missing.length > 0) throw new CloudCallError(`volume ${missing.join(', ')} of restore ${plan.restoreId} disappeared in ${plan.target.region}`, { retryable: false });
  return { volumeIds: [...volumeIds], available: found.every((x) => x.state === 'available') };
}

/**
 * Registers an image from the restored root disk and launches it with the recorded type, network, tags and every other disk.
 * In a member account the disks are the copies made there (`copies`, restore-copies.ts): an account registers only its own snapshots.
 */
export async function runRestoredInstance(targets: RestoreTargets, plan: RestorePlan, restored: RestoredPoint, copies: Record<string, string> = {}): Promise<{ instanceId: string; imageId: string }> {
  if (restored.resource.kind !== 'instance') throw new InvalidArgumentError(`restore point ${restored.pointId} is of a ${restored.resource.kind}, not an instance: restore its volumes instead`);
  const config = instanceConfigFromTags(restored.pointId, restored.tags, restored.snapshots.map((s) => s.volumeId));
  const o = plan.instance ?? {};
  const { region } = plan.target;
  if (region !== restored.resource.region && !o.subnetId) {
    throw new InvalidArgumentError(`the instance ran in ${restored.resource.region ?? 'an unknown region'} (subnet ${config.subnetId}); to restore it into ${region}, give instance.subnetId (and securityGroupIds) there`);
  }
  const root = restored.snapshots.find((s) => config.devices[s.volumeId] === config.rootDeviceName);
  if (!root) throw new InvalidArgumentError(`restore point ${restored.pointId} has no disk on the root device ${config.rootDeviceName}`);
  const tags = { ...config.tags, ...plan.tags };
  const snapshotIn = (id: string) => {
    if (plan.target.accountId && !copies[id]) throw new InvalidArgumentError(`restored snapshot ${id} has no copy in account ${plan.target.accountId}; copy it first (CopyInstanceSnapshots)`);
    return copies[id] ?? id;
  };
  const imageId = await targets.target.registerImage({
    region, name: `cloudkeep-restore-${plan.restoreId}`.slice(0, 128), architecture: config.architecture, rootDeviceName: config.rootDeviceName,
    rootSnapshotId: snapshotIn(root.snapshotId), enaSupport: config.enaSupport, tags: plan.tags,
  });
  const instanceId = await targets.target.runInstance({
    region, imageId, instanceType: o.instanceType ?? config.instanceType, subnetId: o.subnetId ?? config.subnetId,
    securityGroupIds: o.securityGroupIds ?? config.securityGroupIds, tags, clientToken: token(plan.restoreId, 'instance'),
    blockDevices: restored.snapshots.filter((s) => s !== root).map((s) => ({ deviceName: config.devices[s.volumeId], snapshotId: snapshotIn(s.snapshotId), sizeGiB: s.sizeGiB, volumeType: 'gp3' })),
  });
  return { instanceId, imageId };
}

export interface RestoreCleanup {
  /** Workers (control-plane account) and restored instances (target account). */
  instances: string[];
  images: string[];
  volumes: string[];
  snapshots: string[];
}

/**
 * After a failed, cancelled or timed-out restore: everything carrying its restore tag goes: its worker,
 * then the instances, images and volumes in the target account, then the snapshots the worker wrote
 * and their copies in a member account.
 * A volume still being created makes the cleanup fail as retryable (it can only be deleted once available).
 */
export async function cleanupRestore(targets: RestoreTargets, restoreId: string, target: RestoreTargetRef): Promise<RestoreCleanup> {
  const found = await targets.target.findTagged(target.region, RESTORE_TAG, restoreId);
  const own = targets.own === targets.target ? found : await targets.own.findTagged(target.region, RESTORE_TAG, restoreId);
  if (own !== found) for (const id of own.instances) await targets.own.terminateInstance(target.region, id);
  for (const id of found.instances) await targets.target.terminateInstance(target.region, id);
  for (const id of found.images) await targets.target.deregisterImage(target.region, id);
  const creating = found.volumes.filter((v) => v.state === 'creating');
  if (creating.length > 0) throw new CloudCallError(`volume ${creating.map((v) => v.id).join(', ')} of restore ${restoreId} is still being created; the cleanup tries again`, { retryable: true });
  // In-use volumes belong to a restored instance just terminated: they go with it (DeleteOnTermination).
  const volumes = found.volumes.filter((v) => v.state === 'available' || v.state === 'error').map((v) => v.id);
  for (const id of volumes) await targets.target.deleteVolume(target.region, id);
  for (const id of own.snapshots) await targets.own.deleteSnapshot(target.region, id);
  // In a member account: the copies of the restored snapshots (their images are gone already).
  const copies = own === found ? [] : found.snapshots;
  for (const id of copies) await targets.target.deleteSnapshot(target.region, id);
  const instances = own === found ? found.instances : [...own.instances, ...found.instances];
  return { instances, images: found.images, volumes, snapshots: [...own.snapshots, ...copies.filter((id) => !own.snapshots.includes(id))] };
}
