// Planning: which discovered resources each policy selects, when it runs next, and what nothing protects.
import { z } from 'zod';
import { InvalidArgumentError } from '../errors.ts';
import { joinPath } from './policy-issues.ts';
import type { Policy } from './policy-schema.ts';
import { nextRuns } from './schedule.ts';
import { RESOURCE_TYPES, type Provider, type ResourceType } from './vocabulary.ts';

/** A resource as discovery reports it (for now: an inventory JSON file). */
export interface DiscoveredResource {
  provider: Provider;
  /** AWS account id or Azure subscription id. */
  account: string;
  region: string;
  type: ResourceType;
  id: string;
  tags: Record<string, string>;
}

export interface ScheduleRuns {
  schedule: string;
  timeZone: string;
  next: Date[];
}

export interface PolicyPlan {
  policyId: string;
  name: string;
  account: string;
  selected: DiscoveredResource[];
  /** ids listed in selection.ids that discovery did not find in the policy's account and regions (typos, deleted resources). */
  missingIds: string[];
  snapshots?: ScheduleRuns;
  backup?: ScheduleRuns;
}

export interface Plan {
  policies: PolicyPlan[];
  /** Discovered resources that no policy selects. */
  unprotected: DiscoveredResource[];
  /** Resources selected by more than one policy (each policy would snapshot them). */
  overlaps: { resource: DiscoveredResource; policies: string[] }[];
}

const resourceSchema = z.strictObject({
  provider: z.enum(['aws', 'azure']),
  account: z.string().min(1),
  region: z.string().min(1),
  type: z.enum(RESOURCE_TYPES),
  id: z.string().min(1),
  tags: z.record(z.string(), z.string()).default({}),
});

/** Validates an inventory (a list of discovered resources); `where` prefixes messages. */
export function parseInventory(input: unknown, where: string): DiscoveredResource[] {
  const result = z.array(resourceSchema).safeParse(input);
  if (!result.success) {
    const lines = result.error.issues.slice(0, 20).map((i) => `${where}: ${joinPath(i.path) || '(top)'}: ${i.message}`);
    throw new InvalidArgumentError(`invalid inventory: expected a JSON list of { provider, account, region, type, id, tags }:\n${lines.join('\n')}`);
  }
  return result.data;
}

const hasTag = (tags: Record<string, string>, [key, value]: [string, string]) => Object.hasOwn(tags, key) && tags[key] === value;

/**
 * Whether `policy` selects `r`: same provider, account, a listed region and type; then by id or
 * by all of `tags` (with neither, every resource of those types); minus excludeIds and any
 * resource carrying one of `excludeTags`.
 */
export function selects(policy: Policy, r: DiscoveredResource): boolean {
  const s = policy.selection;
  if (r.provider !== policy.account.provider || r.account.toLowerCase() !== policy.account.id.toLowerCase()) return false;
  if (!policy.regions.includes(r.region) || !s.resourceTypes.includes(r.type)) return false;
  if (s.excludeIds?.includes(r.id)) return false;
  if (s.excludeTags && Object.entries(s.excludeTags).some((tag) => hasTag(r.tags, tag))) return false;
  if (!s.ids && !s.tags) return true;
  if (s.ids?.includes(r.id)) return true;
  return s.tags !== undefined && Object.entries(s.tags).every((tag) => hasTag(r.tags, tag));
}

function runs(section: { schedule: string; timeZone: string } | undefined, now: Date, count: number): ScheduleRuns | undefined {
  return section && { schedule: section.schedule, timeZone: section.timeZone, next: nextRuns(section.schedule, section.timeZone, now, count) };
}

/** The plan for `policies` over `resources` at `now`, with the next `runCount` runs of each schedule. */
export function planPolicies(policies: readonly Policy[], resources: readonly DiscoveredResource[], now: Date, runCount = 3): Plan {
  const selectedBy = new Map<DiscoveredResource, string[]>();
  const plans = policies.map((policy): PolicyPlan => {
    const selected = resources.filter((r) => selects(policy, r));
    for (const r of selected) selectedBy.set(r, [...(selectedBy.get(r) ?? []), policy.id]);
    const found = new Set(resources.filter((r) => r.account.toLowerCase() === policy.account.id.toLowerCase() && policy.regions.includes(r.region)).map((r) => r.id));
    return {
      policyId: policy.id,
      name: policy.name,
      account: policy.account.id,
      selected,
      missingIds: (policy.selection.ids ?? []).filter((id) => !found.has(id)),
      snapshots: runs(policy.snapshots, now, runCount),
      backup: runs(policy.backup, now, runCount),
    };
  });
  return {
    policies: plans,
    unprotected: resources.filter((r) => !selectedBy.has(r)),
    overlaps: [...selectedBy].filter(([, ids]) => ids.length > 1).map(([resource, ids]) => ({ resource, policies: ids })),
  };
}
