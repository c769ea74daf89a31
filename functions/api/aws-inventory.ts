// The account's resources and Cloudkeep's snapshots in AWS, seen through the member roles of the account's policies
// (discovery in every region of those policies, the snapshots through the role of a policy covering the region).
import { asAccountId } from '../../core/control/control-ids.ts';
import type { ControlStore } from '../../core/control/control-store.ts';
import type { Discovery, SnapshotInfo, Snapshotter, SnapshotTarget } from '../../core/orchestration/ports.ts';
import { SNAPSHOT_TAGS } from '../../core/orchestration/run-types.ts';
import type { DiscoveredResource } from '../../core/policy/plan.ts';
import { parsePolicy } from '../../core/policy/policy-schema.ts';
import { AWS_RESOURCE_TYPES } from '../../core/policy/vocabulary.ts';
import type { Inventory, SnapshotCatalog } from './ports.ts';
import { readRoleArn } from '../../core/orchestration/member-roles.ts';

/** Adapters acting in a member account through its role (functions/shared/composition.ts Deps.member). */
export type MemberAdapters = (roleArn: string, sessionName: string) => Promise<{ discovery: Discovery; snapshotter: Snapshotter }>;

interface MemberScope {
  roleArn: string;
  awsAccount: string;
  regions: string[];
}

/** The member roles of the account's stored AWS policies (valid ones, enabled or not), each with the regions of its policies. */
async function memberScopes(store: ControlStore, account: string): Promise<MemberScope[]> {
  const byRole = new Map<string, MemberScope>();
  for (const stored of await store.listPolicies(asAccountId(account))) {
    let policy;
    try {
      policy = parsePolicy(stored.body, `policy ${stored.id}`);
    } catch {
      continue;
    }
    if (policy.account.provider !== 'aws') continue;
    // The read-only role next to the policy's member role: the API never acts with the role that snapshots and restores.
    const roleArn = readRoleArn(policy.account.roleArn);
    const scope = byRole.get(roleArn) ?? { roleArn, awsAccount: policy.account.id, regions: [] };
    for (const region of policy.regions) if (!scope.regions.includes(region)) scope.regions.push(region);
    byRole.set(roleArn, scope);
  }
  return [...byRole.values()];
}

export interface AwsInventoryOptions {
  store: ControlStore;
  member: MemberAdapters;
  /** How long an account's resources are reused (discovery takes a call per type and region). @default 30 s */
  cacheMs?: number;
  now?: () => number;
}

export class AwsInventory implements Inventory, SnapshotCatalog {
  private readonly o: AwsInventoryOptions;
  private readonly cache = new Map<string, { at: number; resources: Promise<DiscoveredResource[]> }>();

  constructor(options: AwsInventoryOptions) {
    this.o = options;
  }

  async resources(account: string): Promise<DiscoveredResource[]> {
    const now = (this.o.now ?? Date.now)();
    const cached = this.cache.get(account);
    if (cached && now - cached.at < (this.o.cacheMs ?? 30_000)) return cached.resources;
    const resources = this.discover(account);
    this.cache.set(account, { at: now, resources });
    resources.catch(() => this.cache.delete(account));
    return resources;
  }

  /** Cloudkeep's snapshots of the resource, through the role of a policy covering its region; none when no policy does. */
  async list(account: string, target: SnapshotTarget): Promise<SnapshotInfo[]> {
    const scope = (await memberScopes(this.o.store, account)).find((s) => s.regions.includes(target.region));
    if (!scope) return [];
    const { snapshotter } = await this.o.member(scope.roleArn, `cloudkeep-api-${account}`);
    return snapshotter.list(target, { [SNAPSHOT_TAGS.managed]: SNAPSHOT_TAGS.managedValue, [SNAPSHOT_TAGS.resource]: target.id });
  }

  private async discover(account: string): Promise<DiscoveredResource[]> {
    const seen = new Map<string, DiscoveredResource>();
    for (const scope of await memberScopes(this.o.store, account)) {
      const { discovery } = await this.o.member(scope.roleArn, `cloudkeep-api-${account}`);
      for (const region of scope.regions) {
        for (const r of await discovery.list(region, AWS_RESOURCE_TYPES)) {
          seen.set(`${scope.awsAccount}/${region}/${r.type}/${r.id}`, { provider: 'aws', account: scope.awsAccount, region, type: r.type, id: r.id, tags: r.tags });
        }
      }
    }
    return [...seen.values()];
  }
}
