// Plan one run of a policy: load it, select discovered resources, and decide whether an image backup is due.
import type { ControlStore } from '../control/control-store.ts';
import { asAccountId, asPolicyId, asRegionName, asVolumeId } from '../control/control-ids.ts';
import { selects } from '../policy/plan.ts';
import { parsePolicy, type Policy } from '../policy/policy-schema.ts';
import { nextRuns } from '../policy/schedule.ts';
import { PolicyNotFoundError } from './errors.ts';
import type { FoundResource } from './ports.ts';
import { SNAPSHOT_TAGS, type ApplicationConsistency, type ResourceItem, type RunRef } from './run-types.ts';

/** Image-level backups read EBS blocks, so only these types get a worker. */
const IMAGE_BACKUP_TYPES = new Set(['ec2-instance', 'ebs-volume']);

/** The validated policy `policyId` of `account`; PolicyNotFoundError when absent. */
export async function loadRunPolicy(store: ControlStore, account: string, policyId: string): Promise<Policy> {
  const stored = await store.getPolicy(asAccountId(account), asPolicyId(policyId));
  if (!stored) throw new PolicyNotFoundError(`policy ${JSON.stringify(policyId)} not found in account ${account}; expected a policy put with "cloudkeep policy apply"`);
  return parsePolicy(stored.body, `policy ${policyId}`);
}

/**
 * Whether an image-level backup is due: the policy has a backup section, the type is backed up at
 * image level, and either nothing was backed up yet or a scheduled run fell after the last backup.
 */
export function isBackupDue(policy: Policy, type: string, lastBackupAt: number | undefined, now: number): boolean {
  if (!policy.backup || !IMAGE_BACKUP_TYPES.has(type)) return false;
  if (lastBackupAt === undefined) return true;
  const [next] = nextRuns(policy.backup.schedule, policy.backup.timeZone, new Date(lastBackupAt), 1);
  return next !== undefined && next.getTime() <= now;
}

/** The oldest last-backup time over the volumes (a volume never backed up counts as undefined). */
async function lastBackupOf(store: ControlStore, account: string, r: FoundResource): Promise<number | undefined> {
  let oldest: number | undefined;
  for (const volumeId of r.volumeIds) {
    const state = await store.getVolumeState(asAccountId(account), asRegionName(r.region), asVolumeId(volumeId));
    if (!state) return undefined;
    oldest = oldest === undefined ? state.updatedAt : Math.min(oldest, state.updatedAt);
  }
  return oldest;
}

/** The tags every snapshot of the run carries: the policy's tags, then Cloudkeep's own. */
export function snapshotTags(policy: Policy, run: RunRef, resourceId: string): Record<string, string> {
  return {
    ...policy.tags,
    [SNAPSHOT_TAGS.managed]: SNAPSHOT_TAGS.managedValue,
    [SNAPSHOT_TAGS.policy]: run.policyId,
    [SNAPSHOT_TAGS.resource]: resourceId,
    [SNAPSHOT_TAGS.session]: run.sessionId,
  };
}

/** An instance's pre/post scripts when the policy asks for application consistency; other types have no scripts. */
export function consistencyOf(policy: Policy, type: string): ApplicationConsistency | undefined {
  const app = typeof policy.consistency === 'object' ? policy.consistency.application : undefined;
  if (!app || type !== 'ec2-instance') return undefined;
  return { preScript: app.preScript, postScript: app.postScript, platform: app.windowsVss ? 'windows' : 'linux' };
}

/** The resources of `found` the policy selects, one self-contained item each, sorted by id. */
export async function planRun(store: ControlStore, policy: Policy, run: RunRef, found: readonly FoundResource[], now: number): Promise<ResourceItem[]> {
  const selected = found.filter((r) => selects(policy, { provider: 'aws', account: policy.account.id, region: r.region, type: r.type, id: r.id, tags: r.tags }));
  const items: ResourceItem[] = [];
  for (const resource of [...selected].sort((a, b) => a.id.localeCompare(b.id))) {
    const due = policy.backup && IMAGE_BACKUP_TYPES.has(resource.type) ? isBackupDue(policy, resource.type, await lastBackupOf(store, run.account, resource), now) : false;
    const consistency = consistencyOf(policy, resource.type);
    items.push({ run, resource, backupDue: due, retention: policy.snapshots?.retention, tags: snapshotTags(policy, run, resource.id), ...(consistency ? { consistency } : {}) });
  }
  return items;
}
