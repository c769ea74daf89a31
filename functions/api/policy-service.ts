// Policy logic the routes share: validation with every problem, saving through the store, and plans as JSON.
import { asAccountId, asPolicyId } from '../../core/control/control-ids.ts';
import type { ControlStore, JsonObject, Policy as StoredPolicy } from '../../core/control/control-store.ts';
import { InvalidArgumentError } from '../../core/errors.ts';
import { policyBody } from '../../core/policy/apply.ts';
import { planPolicies, type DiscoveredResource, type ScheduleRuns } from '../../core/policy/plan.ts';
import { parsePolicy, PolicyValidationError, type Policy, type PolicyProblem } from '../../core/policy/policy-schema.ts';
import { NotFoundError } from './api-errors.ts';

export interface Validation {
  problems: PolicyProblem[];
  policy?: Policy;
}

/** All problems of a policy document, or the parsed policy. */
export function validate(input: unknown, where: string): Validation {
  try {
    return { problems: [], policy: parsePolicy(input, where) };
  } catch (err) {
    if (err instanceof PolicyValidationError) return { problems: err.problems };
    throw err;
  }
}

/** The stored policy; NotFoundError when the account has none with this id. */
export async function storedPolicy(store: ControlStore, account: string, policyId: string): Promise<StoredPolicy> {
  const policy = await store.getPolicy(asAccountId(account), asPolicyId(policyId));
  if (!policy) throw new NotFoundError(`no policy ${JSON.stringify(policyId)} in account ${account}`);
  return policy;
}

/** Validates a policy document for the path's account and id, then stores it expecting `expectedVersion`. */
export async function savePolicy(store: ControlStore, account: string, policyId: string, document: unknown, expectedVersion: number): Promise<StoredPolicy> {
  const policy = parsePolicy(document, `policy ${policyId}`);
  if (policy.id !== policyId) throw new InvalidArgumentError(`policy.id ${JSON.stringify(policy.id)}: expected ${JSON.stringify(policyId)} as in the path`);
  if (policy.account.id !== account) throw new InvalidArgumentError(`policy.account.id ${JSON.stringify(policy.account.id)}: expected ${JSON.stringify(account)} as in the path`);
  return store.putPolicy(asAccountId(account), { id: asPolicyId(policy.id), name: policy.name, body: policyBody(policy) as JsonObject }, expectedVersion);
}

const runsJson = (runs: ScheduleRuns | undefined) => runs && { schedule: runs.schedule, timeZone: runs.timeZone, next: runs.next.map((d) => d.getTime()) };

/**
 * The plan response of a policy document: every problem (200 with valid false), or when valid, what
 * it selects among `resources()` (read only then) and its next runs after `now`.
 */
export async function planResponse(document: unknown, where: string, account: string, resources: () => Promise<DiscoveredResource[]>, now: number) {
  const checked = validate(document, where);
  const { policy } = checked;
  const problems = [...checked.problems];
  if (policy && policy.account.id !== account) {
    problems.push({ file: where, path: 'account.id', message: `${JSON.stringify(policy.account.id)} is not this account; expected ${JSON.stringify(account)}` });
  }
  if (!policy || problems.length > 0) return { valid: false, problems };
  const [plan] = planPolicies([policy], await resources(), new Date(now)).policies;
  return {
    valid: true,
    problems,
    plan: { selected: plan.selected, missingIds: plan.missingIds, snapshots: runsJson(plan.snapshots), backup: runsJson(plan.backup) },
  };
}
