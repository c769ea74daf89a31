// Policy logic the routes share: validation with every problem, saving through the store (and the policy's schedules), and plans as JSON.
import { asAccountId, asPolicyId } from '../../core/control/control-ids.ts';
import type { ControlStore, JsonObject, Policy as StoredPolicy } from '../../core/control/control-store.ts';
import { InvalidArgumentError } from '../../core/errors.ts';
import { desiredSchedules, policyBody, scheduleName, type ApplyTargets, type RunKind } from '../../core/policy/apply.ts';
import { planPolicies, type DiscoveredResource, type ScheduleRuns } from '../../core/policy/plan.ts';
import { parsePolicy, PolicyValidationError, type Policy, type PolicyProblem } from '../../core/policy/policy-schema.ts';
import type { Scheduler } from '../../core/policy/scheduler-port.ts';
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

/** The schedules of stored policies: the scheduler (EventBridge Scheduler or local) and where `policy apply` points them. */
export interface PolicySchedules {
  scheduler: Scheduler;
  targets: ApplyTargets;
}

export interface PolicyServiceOptions {
  /** Absent: saving a policy leaves its schedules alone (they are `policy apply`'s). */
  scheduler?: PolicySchedules;
}

const RUN_KINDS: readonly RunKind[] = ['snapshots', 'backup'];

/**
 * Makes the policy's schedules what `policy apply` would make of it (apply.ts desiredSchedules): each one
 * replaced with its expression, input and state (DISABLED for a disabled policy), and those of run kinds it no longer has deleted.
 */
export async function syncPolicySchedules(policy: Policy, { scheduler, targets }: PolicySchedules): Promise<void> {
  const desired = desiredSchedules(policy, targets);
  for (const spec of desired) await scheduler.update(spec);
  for (const run of RUN_KINDS) {
    const name = scheduleName(policy.id, run);
    if (!desired.some((s) => s.name === name)) await scheduler.delete(targets.groupName, name);
  }
}

/**
 * Validates a policy document for the path's account and id, stores it expecting `expectedVersion`, then
 * (with a scheduler) switches its schedules to match: enabling or disabling a policy enables or disables them.
 */
export async function savePolicy(store: ControlStore, account: string, policyId: string, document: unknown, expectedVersion: number, options: PolicyServiceOptions = {}): Promise<StoredPolicy> {
  const policy = parsePolicy(document, `policy ${policyId}`);
  if (policy.id !== policyId) throw new InvalidArgumentError(`policy.id ${JSON.stringify(policy.id)}: expected ${JSON.stringify(policyId)} as in the path`);
  if (policy.account.id !== account) throw new InvalidArgumentError(`policy.account.id ${JSON.stringify(policy.account.id)}: expected ${JSON.stringify(account)} as in the path`);
  const stored = await store.putPolicy(asAccountId(account), { id: asPolicyId(policy.id), name: policy.name, body: policyBody(policy) as JsonObject }, expectedVersion);
  if (options.scheduler) await syncPolicySchedules(policy, options.scheduler);
  return stored;
}

/** Stores the policy with `enabled` set (at its current version) and switches its schedules with it. */
export async function setPolicyEnabled(store: ControlStore, account: string, policyId: string, enabled: boolean, options: PolicyServiceOptions = {}): Promise<StoredPolicy> {
  const stored = await storedPolicy(store, account, policyId);
  return savePolicy(store, account, policyId, { ...stored.body, enabled }, stored.version, options);
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
