// Launching a resource's worker (task document, instance choice) and cleaning up after a failed or timed-out one.
import { createHash } from 'node:crypto';
import type { ControlStore } from '../control/control-store.ts';
import { asAccountId, asRegionName, asResourceId, asSessionId, asVolumeId } from '../control/control-ids.ts';
import { slotHolder } from '../control/worker-slots.ts';
import { InvalidArgumentError } from '../errors.ts';
import type { Policy } from '../policy/policy-schema.ts';
import { TaskSchema, type WorkerTask } from '../../worker-image/task.ts';
import { instanceConfigTags } from './instance-config.ts';
import { WorkerSlotsBusyError } from './errors.ts';
import { loadRunPolicy } from './plan-run.ts';
import type { Snapshotter, WorkerLauncher, WorkerRecordStore } from './ports.ts';
import type { ItemResult, ResourceItem } from './run-types.ts';
import { markTaskRunning, itemErrorText } from './session-bookkeeping.ts';
import type { VolumeSnapshot } from './snapshot-run.ts';

/** EC2 limits user data to 16 KB before base64 encoding. */
export const USER_DATA_MAX_BYTES = 16 * 1024;

export interface WorkerSettings {
  /** Key spec of the repository master key (worker-image/task.ts `key`), e.g. aws-kms:<wrap key arn>. */
  keySpec: string;
  /** The account's GetSnapshotBlock quota in requests/s (default 1,000, the EBS default). */
  accountReadRps?: number;
  /** Workers of one account reading at once, across every policy and run (default 4). */
  accountWorkerSlots?: number;
  /** How long a worker's slot stays taken when its run dies without giving it back (default 12 h, the worker timeout). */
  slotLeaseMs?: number;
}

export const DEFAULT_ACCOUNT_WORKER_SLOTS = 4;
export const DEFAULT_SLOT_LEASE_MS = 12 * 3_600_000;

/**
 * Each worker's share of the account's EBS read quota: at most `slots` workers of the account read
 * at once (every policy and run takes its worker's slot first), so together they stay under the
 * account limit without talking to each other.
 */
export function accountReadShare(accountRps: number, slots: number | undefined): number {
  return Math.max(1, Math.floor(accountRps / Math.max(1, slots ?? 1)));
}

type WorkerConfig = NonNullable<Policy['worker']>;

/** The first instance type whose upToGiB covers `sizeGiB`, else the largest. */
export function chooseInstanceType(sizes: WorkerConfig['instanceSize'], sizeGiB: number): string {
  const sorted = [...sizes].sort((a, b) => a.upToGiB - b.upToGiB);
  return (sorted.find((s) => s.upToGiB >= sizeGiB) ?? sorted[sorted.length - 1]).type;
}

/** One of the region's subnets, spread by the resource id (stable for a resource, round robin across resources). */
export function chooseSubnet(subnets: WorkerConfig['subnets'], region: string, resourceId: string): string {
  const list = subnets[region];
  if (!list || list.length === 0) throw new InvalidArgumentError(`the policy's worker.subnets has no subnet for region ${region}; add one to back up ${resourceId}`);
  return list[createHash('sha256').update(resourceId).digest().readUInt32BE(0) % list.length];
}

const KIND = { 'ec2-instance': 'instance', 'ebs-volume': 'volume' } as const;

/** The worker's task document: the run's snapshots, incremental against the volume state when every volume shares a parent point. */
export async function buildWorkerTask(store: ControlStore, policy: Policy, item: ResourceItem, volumes: readonly VolumeSnapshot[], taskToken: string, settings: WorkerSettings): Promise<WorkerTask> {
  const r = item.resource;
  if (!policy.backup) throw new InvalidArgumentError(`policy ${item.run.policyId} has no backup section; a worker needs its repository`);
  const kind = KIND[r.type as keyof typeof KIND];
  if (!kind) throw new InvalidArgumentError(`${r.type} ${r.id} gets no image-level backup`);
  if (volumes.length === 0) throw new InvalidArgumentError(`no volume snapshots of ${r.id} to back up`);
  const states = await Promise.all(volumes.map((v) => store.getVolumeState(asAccountId(item.run.account), asRegionName(r.region), asVolumeId(v.volumeId))));
  const parents = new Set(states.map((s) => s?.lastRestorePointId));
  const parentPointId = parents.size === 1 && states.every((s) => s) ? states[0]?.lastRestorePointId : undefined;
  const task = {
    kind: 'backup' as const,
    taskToken,
    account: policy.account.id,
    region: r.region,
    repository: policy.backup.repository,
    key: settings.keySpec,
    resource: { id: r.id, kind, account: policy.account.id, region: r.region, ...(r.tags.Name ? { name: r.tags.Name } : {}) },
    disks: volumes.map((v, i) => ({ name: v.volumeId, snapshotId: v.snapshotId, volumeId: v.volumeId, ...(parentPointId ? { baseSnapshotId: states[i]?.baseSnapshotId } : {}) })),
    ...(parentPointId ? { parentPointId } : {}),
    tags: { ...item.tags, ...instanceConfigTags(r.instance) },
    limits: { readRps: { account: accountReadShare(settings.accountReadRps ?? 1000, settings.accountWorkerSlots ?? DEFAULT_ACCOUNT_WORKER_SLOTS) } },
  };
  return TaskSchema.parse(task);
}

/** Base64 user data of the task; InvalidArgumentError when it exceeds EC2's limit. */
export function taskUserData(task: WorkerTask): string {
  const raw = Buffer.from(JSON.stringify(task), 'utf8');
  if (raw.length > USER_DATA_MAX_BYTES) {
    throw new InvalidArgumentError(`the worker task of ${task.resource.id} is ${raw.length} bytes; EC2 user data is limited to ${USER_DATA_MAX_BYTES} bytes (fewer disks or tags per resource)`);
  }
  return raw.toString('base64');
}

export interface LaunchedWorker {
  instanceId: string;
  instanceType: string;
  subnetId: string;
  spot: boolean;
}

/** Records the token, launches the worker instance with the task as user data, records its id. */
export async function launchWorker(
  store: ControlStore, records: WorkerRecordStore, launcher: WorkerLauncher, item: ResourceItem, volumes: readonly VolumeSnapshot[], taskToken: string, settings: WorkerSettings,
): Promise<LaunchedWorker> {
  const policy = await loadRunPolicy(store, item.run.account, item.run.policyId);
  if (!policy.worker) throw new InvalidArgumentError(`policy ${item.run.policyId} has no worker section (instanceSize, subnets, spotAllowed)`);
  const task = await buildWorkerTask(store, policy, item, volumes, taskToken, settings);
  const userData = taskUserData(task);
  const sizeGiB = volumes.reduce((sum, v) => sum + (v.sizeGiB ?? 0), 0);
  const instanceType = chooseInstanceType(policy.worker.instanceSize, sizeGiB);
  const subnetId = chooseSubnet(policy.worker.subnets, item.resource.region, item.resource.id);
  const spot = policy.worker.spotAllowed;
  const slots = settings.accountWorkerSlots ?? DEFAULT_ACCOUNT_WORKER_SLOTS;
  const holder = slotHolder(item.run.sessionId, item.resource.id);
  if (!(await store.acquireWorkerSlot(asAccountId(item.run.account), holder, slots, settings.slotLeaseMs ?? DEFAULT_SLOT_LEASE_MS))) {
    throw new WorkerSlotsBusyError(`all ${slots} worker slots of account ${item.run.account} are taken (the account's EBS read quota is shared by at most ${slots} workers); ${item.resource.id} waits for one`);
  }
  await records.recordWorkerToken(item.run.account, item.run.sessionId, item.resource.id, taskToken);
  const clientToken = createHash('sha256').update(taskToken).digest('hex').slice(0, 64);
  const { instanceId } = await launcher.launch({ region: item.resource.region, instanceType, subnetId, spot, userData, tags: item.tags, clientToken });
  await records.recordWorkerInstance(item.run.account, item.run.sessionId, item.resource.id, instanceId);
  return { instanceId, instanceType, subnetId, spot };
}

/**
 * After a failed or timed-out worker: terminates its instance, deletes the snapshots this run took
 * (never a volume-state base), and records the task failed. Returns the item's (failed) result.
 */
export async function cleanupWorker(
  store: ControlStore, records: WorkerRecordStore, launcher: WorkerLauncher, snapshotter: Snapshotter, item: ResourceItem, snapshotIds: readonly string[], error: ItemResult['error'],
): Promise<ItemResult & { terminated?: string }> {
  const r = item.resource;
  const worker = await records.getWorker(item.run.account, item.run.sessionId, r.id);
  if (worker?.instanceId) await launcher.terminate(r.region, worker.instanceId);
  await releaseWorkerSlot(store, item);
  const states = await Promise.all(r.volumeIds.map((v) => store.getVolumeState(asAccountId(item.run.account), asRegionName(r.region), asVolumeId(v))));
  const bases = new Set(states.map((s) => s?.baseSnapshotId).filter(Boolean));
  const deleted: string[] = [];
  for (const id of snapshotIds) {
    if (bases.has(id)) continue;
    await snapshotter.delete({ type: r.type, id: r.id, region: r.region }, id);
    deleted.push(id);
  }
  const message = `worker failed: ${itemErrorText(error)}`.slice(0, 1000);
  await markTaskRunning(store, item.run.account, item.run.sessionId, r.id);
  await store.updateTask(asAccountId(item.run.account), asSessionId(item.run.sessionId), asResourceId(r.id), { status: 'failed', error: message });
  return { resource: { id: r.id, type: r.type, region: r.region }, status: 'failed', error: message, snapshotIds: [], deleted, ...(worker?.instanceId ? { terminated: worker.instanceId } : {}) };
}

/** Gives back the slot the resource's worker took (after it ended, whichever way). */
export async function releaseWorkerSlot(store: ControlStore, item: ResourceItem): Promise<void> {
  await store.releaseWorkerSlots(asAccountId(item.run.account), { holder: slotHolder(item.run.sessionId, item.resource.id) });
}
