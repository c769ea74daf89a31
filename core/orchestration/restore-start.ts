// Starting a restore: validate the request against the tenant's policies, then launch the worker that restores the disks.
import { createHash } from 'node:crypto';
import type { ControlStore } from '../control/control-store.ts';
import { asAccountId } from '../control/control-ids.ts';
import { slotHolder } from '../control/worker-slots.ts';
import { InvalidArgumentError } from '../errors.ts';
import { parsePolicy, type Policy } from '../policy/policy-schema.ts';
import { TaskSchema, type WorkerTask } from '../../worker-image/task.ts';
import { loadRunPolicy } from './plan-run.ts';
import { WorkerSlotsBusyError } from './errors.ts';
import type { WorkerLauncher } from './ports.ts';
import { RESTORE_TAG, RestoreRequestSchema, type RestorePlan } from './restore-types.ts';
import { SNAPSHOT_TAGS } from './run-types.ts';
import { chooseInstanceType, chooseSubnet, DEFAULT_ACCOUNT_WORKER_SLOTS, DEFAULT_SLOT_LEASE_MS, taskUserData, type WorkerSettings } from './worker-run.ts';

const accountOfRole = (arn: string) => arn.split(':')[4];

/**
 * Checks the request: the tenant's policy exists and has a repository and workers, the target
 * region has worker subnets, a target role is one of the tenant's member roles, and the mode fits.
 * The point itself is read (and its owner checked) by the worker, the only holder of repository access.
 */
export async function startRestore(store: ControlStore, request: unknown, restoreId: string): Promise<RestorePlan> {
  const r = RestoreRequestSchema.parse(request);
  const policy = await loadRunPolicy(store, r.account, r.policyId);
  if (policy.account.provider !== 'aws') throw new InvalidArgumentError(`policy ${r.policyId} protects an ${policy.account.provider} account; this state machine restores AWS points`);
  if (!policy.backup) throw new InvalidArgumentError(`policy ${r.policyId} has no backup section: it made no restore points`);
  const subnets = policy.worker?.subnets ?? {};
  if (!subnets[r.target.region]?.length) {
    throw new InvalidArgumentError(`target region ${r.target.region} is not allowed: policy ${r.policyId} has no worker subnet there (allowed: ${Object.keys(subnets).join(', ') || 'none'})`);
  }
  if (r.target.roleArn) {
    const roles = (await store.listPolicies(asAccountId(r.account))).map((p) => parsePolicy(p.body, `policy ${p.id}`).account).flatMap((a) => (a.provider === 'aws' ? [a.roleArn] : []));
    if (!roles.includes(r.target.roleArn)) {
      throw new InvalidArgumentError(`target role ${r.target.roleArn} is not a member role of account ${r.account} (allowed: ${[...new Set(roles)].join(', ')})`);
    }
  }
  if (r.volume && r.instance) throw new InvalidArgumentError('give "volume" or "instance", not both');
  if (r.instance && r.disks) throw new InvalidArgumentError('an instance restore restores every disk of the point: leave "disks" out');
  const targetAccount = r.target.roleArn ? accountOfRole(r.target.roleArn) : undefined;
  return {
    restoreId, account: r.account, policyId: r.policyId, pointId: r.pointId, ...(r.disks ? { disks: r.disks } : {}),
    mode: r.instance ? 'instance' : r.volume ? 'volume' : 'snapshot',
    target: { region: r.target.region, ...(r.target.roleArn ? { roleArn: r.target.roleArn, accountId: targetAccount } : {}) },
    owner: policy.account.id,
    ...(r.volume ? { volume: r.volume } : {}),
    ...(r.instance ? { instance: r.instance } : {}),
    tags: { ...r.tags, [RESTORE_TAG]: restoreId },
  };
}

/** The worker's restore task: the point's disks into new snapshots in the target region, tagged managed and with the restore. */
export function buildRestoreTask(plan: RestorePlan, policy: Policy, taskToken: string, settings: WorkerSettings): WorkerTask {
  if (!policy.backup) throw new InvalidArgumentError(`policy ${plan.policyId} has no backup section; a worker needs its repository`);
  return TaskSchema.parse({
    kind: 'restore', taskToken, account: plan.owner, region: plan.target.region, repository: policy.backup.repository, key: settings.keySpec,
    resource: { id: plan.pointId, kind: plan.mode === 'instance' ? 'instance' : 'volume', account: plan.owner, region: plan.target.region },
    restore: { pointId: plan.pointId, ...(plan.disks ? { disks: plan.disks } : {}), tags: { ...plan.tags, [SNAPSHOT_TAGS.managed]: SNAPSHOT_TAGS.managedValue } },
  });
}

/** The worker slot a restore's worker holds (one per restore), like a backup worker's `session/resource`. */
export const restoreSlotHolder = (restoreId: string): string => slotHolder(`restore:${restoreId}`, 'worker');

/** Gives back the restore worker's slot (after the worker ended, whichever way); nothing held is fine. */
export async function releaseRestoreSlot(store: ControlStore, account: string, restoreId: string): Promise<void> {
  await store.releaseWorkerSlots(asAccountId(account), { holder: restoreSlotHolder(restoreId) });
}

/**
 * Launches the restore worker with the policy's largest size (the point's size is unknown until read),
 * tagged with the restore: cleanup finds it by that tag, like everything else the restore made.
 * It first takes one of the account's worker slots, shared with backup workers; WorkerSlotsBusyError when all are taken.
 */
export async function launchRestoreWorker(store: ControlStore, launcher: WorkerLauncher, plan: RestorePlan, taskToken: string, settings: WorkerSettings): Promise<{ instanceId: string; instanceType: string; subnetId: string }> {
  const policy = await loadRunPolicy(store, plan.account, plan.policyId);
  if (!policy.worker) throw new InvalidArgumentError(`policy ${plan.policyId} has no worker section (instanceSize, subnets, spotAllowed)`);
  const userData = taskUserData(buildRestoreTask(plan, policy, taskToken, settings));
  const instanceType = chooseInstanceType(policy.worker.instanceSize, Number.POSITIVE_INFINITY);
  const subnetId = chooseSubnet(policy.worker.subnets, plan.target.region, plan.restoreId);
  const slots = settings.accountWorkerSlots ?? DEFAULT_ACCOUNT_WORKER_SLOTS;
  if (!(await store.acquireWorkerSlot(asAccountId(plan.account), restoreSlotHolder(plan.restoreId), slots, settings.slotLeaseMs ?? DEFAULT_SLOT_LEASE_MS))) {
    throw new WorkerSlotsBusyError(`all ${slots} worker slots of account ${plan.account} are taken (backup and restore workers share them); restore ${plan.restoreId} waits for one`);
  }
  const clientToken = createHash('sha256').update(taskToken).digest('hex').slice(0, 64);
  const tags = { [SNAPSHOT_TAGS.managed]: SNAPSHOT_TAGS.managedValue, [RESTORE_TAG]: plan.restoreId };
  const { instanceId } = await launcher.launch({ region: plan.target.region, instanceType, subnetId, spot: false, userData, tags, clientToken });
  return { instanceId, instanceType, subnetId };
}
