// Planning `policy apply` (pure): policy create/update/delete by content hash, and the EventBridge schedules each policy needs.
import { createHash } from 'node:crypto';
import { InvalidArgumentError } from '../errors.ts';
import type { JsonObject, JsonValue } from '../control/control-store.ts';
import { toEventBridgeExpression } from './eventbridge-expression.ts';
import { isEnabled, type Policy } from './policy-schema.ts';
import { SCHEDULE_PREFIX, type ScheduleSpec } from './scheduler-port.ts';

/** Where the schedules point: from the control-plane stack. */
export interface ApplyTargets {
  stateMachineArn: string;
  roleArn: string;
  groupName: string;
}

/** A policy as the control store holds it (the body is the policy model as JSON). */
export interface StoredPolicy {
  account: string;
  id: string;
  name: string;
  version: number;
  body: JsonObject;
}

export type Action = 'create' | 'update' | 'delete' | 'unchanged';

export interface PolicyChange {
  action: Action;
  account: string;
  policyId: string;
  name: string;
  /** The version the control store holds now (0: none); putPolicy and deletePolicy expect it. */
  expectedVersion: number;
  /** The body to write (create and update). */
  body?: JsonObject;
  hash: string;
}

export interface ScheduleChange {
  action: Action;
  name: string;
  groupName: string;
  /** The desired schedule (create, update, unchanged). */
  spec?: ScheduleSpec;
}

export interface ApplyPlan {
  policies: PolicyChange[];
  schedules: ScheduleChange[];
  /** Changes to make; 0 when everything is applied already. */
  changes: number;
}

export type RunKind = 'snapshots' | 'backup';
const RUN_KINDS: readonly RunKind[] = ['snapshots', 'backup'];
const NAME = /^[0-9a-zA-Z_.-]{1,64}$/;
const STATE_MACHINE_ARN = /^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:stateMachine:[\w-]{1,80}$/;
const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/;

export const scheduleName = (policyId: string, run: RunKind): string => `${SCHEDULE_PREFIX}${policyId}-${run}`;

/** JSON with keys sorted at every level, so equal content gives equal text. */
function canonical(value: JsonValue): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export const contentHash = (body: JsonObject): string => `sha256:${createHash('sha256').update(canonical(body)).digest('hex')}`;

/** The policy model as the JSON body the control store keeps. */
export const policyBody = (policy: Policy): JsonObject => JSON.parse(JSON.stringify(policy)) as JsonObject;

/** Checks the ARNs and group name; errors name the flag-like field. */
export function checkTargets(targets: ApplyTargets): ApplyTargets {
  if (!STATE_MACHINE_ARN.test(targets.stateMachineArn)) {
    throw new InvalidArgumentError(`state machine ARN ${JSON.stringify(targets.stateMachineArn)}: expected arn:aws:states:<region>:<account-id>:stateMachine:<name>`);
  }
  if (!ROLE_ARN.test(targets.roleArn)) throw new InvalidArgumentError(`role ARN ${JSON.stringify(targets.roleArn)}: expected arn:aws:iam::<account-id>:role/<name>`);
  if (!NAME.test(targets.groupName)) throw new InvalidArgumentError(`schedule group ${JSON.stringify(targets.groupName)}: expected 1-64 letters, digits and - _ .`);
  return targets;
}

/** The schedules a policy needs: one per configured run kind, DISABLED for a disabled policy. Errors name the policy and field. */
export function desiredSchedules(policy: Policy, targets: ApplyTargets): ScheduleSpec[] {
  const out: ScheduleSpec[] = [];
  for (const run of RUN_KINDS) {
    const config = policy[run];
    if (!config) continue;
    const where = `policy ${JSON.stringify(policy.id)} ${run}.schedule`;
    const name = scheduleName(policy.id, run);
    if (!NAME.test(name)) throw new InvalidArgumentError(`policy ${JSON.stringify(policy.id)}: schedule name ${JSON.stringify(name)} is longer than EventBridge's 64 characters; shorten the policy id`);
    out.push({
      name,
      groupName: targets.groupName,
      expression: toEventBridgeExpression(config.schedule, where),
      timeZone: config.timeZone,
      targetArn: targets.stateMachineArn,
      roleArn: targets.roleArn,
      input: JSON.stringify({ policyId: policy.id, account: policy.account.id, run }),
      // A disabled policy keeps its schedules, switched off (absent state: ENABLED).
      ...(isEnabled(policy) ? {} : { state: 'DISABLED' as const }),
    });
  }
  return out;
}

const stateOf = (spec: ScheduleSpec): string => spec.state ?? 'ENABLED';

const sameSpec = (a: ScheduleSpec, b: ScheduleSpec): boolean =>
  a.expression === b.expression && a.timeZone === b.timeZone && a.targetArn === b.targetArn && a.roleArn === b.roleArn && a.groupName === b.groupName && stateOf(a) === stateOf(b) && sameInput(a.input, b.input);

function sameInput(a: string, b: string): boolean {
  try {
    return canonical(JSON.parse(a) as JsonValue) === canonical(JSON.parse(b) as JsonValue);
  } catch {
    return a === b;
  }
}

/** The accounts named by existing schedules' inputs: policies of accounts no longer on disk are found through them. */
export function accountsOfSchedules(schedules: readonly ScheduleSpec[]): string[] {
  const accounts = new Set<string>();
  for (const s of schedules) {
    try {
      const account = (JSON.parse(s.input) as { account?: unknown }).account;
      if (typeof account === 'string') accounts.add(account);
    } catch {
      // not ours to read; its schedule is still deleted when no policy wants it
    }
  }
  return [...accounts].sort();
}

/**
 * What apply changes: each policy on disk is created or updated when its content hash differs
 * from the stored body; stored policies no longer on disk are deleted. Schedules are compared
 * field by field with the existing ones (names starting with cloudkeep-); unwanted ones are deleted.
 */
export function planApply(onDisk: readonly Policy[], stored: readonly StoredPolicy[], existing: readonly ScheduleSpec[], targets: ApplyTargets): ApplyPlan {
  checkTargets(targets);
  const policies: PolicyChange[] = [];
  const storedByKey = new Map(stored.map((p) => [`${p.account}/${p.id}`, p]));
  const desired: ScheduleSpec[] = [];
  for (const policy of onDisk) {
    desired.push(...desiredSchedules(policy, targets));
    const body = policyBody(policy);
    const hash = contentHash(body);
    const current = storedByKey.get(`${policy.account.id}/${policy.id}`);
    const action: Action = !current ? 'create' : contentHash(current.body) === hash && current.name === policy.name ? 'unchanged' : 'update';
    policies.push({ action, account: policy.account.id, policyId: policy.id, name: policy.name, expectedVersion: current?.version ?? 0, hash, ...(action === 'unchanged' ? {} : { body }) });
  }
  const onDiskKeys = new Set(onDisk.map((p) => `${p.account.id}/${p.id}`));
  for (const p of stored) {
    if (!onDiskKeys.has(`${p.account}/${p.id}`)) policies.push({ action: 'delete', account: p.account, policyId: p.id, name: p.name, expectedVersion: p.version, hash: contentHash(p.body) });
  }
  const schedules: ScheduleChange[] = [];
  const existingByName = new Map(existing.filter((s) => s.groupName === targets.groupName).map((s) => [s.name, s]));
  for (const spec of desired) {
    const current = existingByName.get(spec.name);
    schedules.push({ action: !current ? 'create' : sameSpec(current, spec) ? 'unchanged' : 'update', name: spec.name, groupName: spec.groupName, spec });
  }
  const wanted = new Set(desired.map((s) => s.name));
  for (const s of existing) {
    if (s.groupName === targets.groupName && s.name.startsWith(SCHEDULE_PREFIX) && !wanted.has(s.name)) schedules.push({ action: 'delete', name: s.name, groupName: s.groupName });
  }
  policies.sort((a, b) => a.account.localeCompare(b.account) || a.policyId.localeCompare(b.policyId));
  schedules.sort((a, b) => a.name.localeCompare(b.name));
  const changes = [...policies, ...schedules].filter((c) => c.action !== 'unchanged').length;
  return { policies, schedules, changes };
}

/** The plan as lines, e.g. "policy 123456789012/web-servers: update (version 3)". */
export function applyPlanText(plan: ApplyPlan): string {
  const lines = plan.policies.map((p) => `policy ${p.account}/${p.policyId}: ${p.action}${p.expectedVersion > 0 ? ` (version ${p.expectedVersion})` : ''}`);
  for (const s of plan.schedules) {
    lines.push(`schedule ${s.groupName}/${s.name}: ${s.action}${s.spec ? ` ${s.spec.expression}${s.spec.expression.startsWith('cron(') ? ` ${s.spec.timeZone}` : ''}` : ''}`);
  }
  lines.push(plan.changes === 0 ? 'no changes: everything is applied already' : `${plan.changes} change(s)`);
  return lines.join('\n');
}
