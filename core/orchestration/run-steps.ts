// The use-cases behind the state machine's steps: begin a run, discover and plan it, start a resource.
import { asAccountId, asSessionId } from '../control/control-ids.ts';
import type { ControlStore, Session } from '../control/control-store.ts';
import { InvalidArgumentError } from '../errors.ts';
import { isEnabled } from '../policy/policy-schema.ts';
import { loadRunPolicy, planRun } from './plan-run.ts';
import { snapshotResource, type ScriptWait } from './app-consistency.ts';
import type { Discovery, ScriptRunner, Snapshotter } from './ports.ts';
import type { ResourceItem, RunRef } from './run-types.ts';
import { markTaskRunning, recordTasks, startSession } from './session-bookkeeping.ts';
import type { SnapshotProgress } from './snapshot-run.ts';

export const DEFAULT_MAX_CONCURRENCY = 4;

export interface RunStart extends RunRef {
  maxConcurrency: number;
  /** Always false here: the state machine's SkipDisabledRun choice reads it. */
  skipped: false;
}

/** A scheduled run of a disabled policy: nothing is recorded and the state machine ends at once. */
export interface SkippedRun {
  account: string;
  policyId: string;
  skipped: true;
  reason: string;
}

/** The session `sessionId` (made by whoever started the run, e.g. the API's run now): running, of this account and policy. */
async function existingSession(store: ControlStore, account: string, policyId: string, sessionId: string): Promise<Session> {
  const session = await store.getSession(asAccountId(account), asSessionId(sessionId));
  if (!session) throw new InvalidArgumentError(`sessionId ${JSON.stringify(sessionId)}: no such session in account ${account}; expected one created for this run`);
  if (session.policyId !== policyId) throw new InvalidArgumentError(`sessionId ${sessionId} belongs to policy ${session.policyId}, not ${policyId}`);
  if (session.status !== 'running') throw new InvalidArgumentError(`sessionId ${sessionId} is ${session.status}; expected a running session`);
  return session;
}

/** Loads and validates the policy, then opens the session (or takes over `sessionId`, already opened by the caller). */
export async function beginRun(store: ControlStore, account: string, policyId: string, maxConcurrency = DEFAULT_MAX_CONCURRENCY, sessionId?: string): Promise<RunStart> {
  const policy = await loadRunPolicy(store, account, policyId);
  if (policy.account.provider !== 'aws') throw new InvalidArgumentError(`policy ${policyId} protects an ${policy.account.provider} account; this state machine runs AWS policies`);
  const session = sessionId === undefined ? await startSession(store, account, policyId) : await existingSession(store, account, policyId, sessionId);
  return { account, policyId, sessionId: session.id, roleArn: policy.account.roleArn, maxConcurrency, skipped: false };
}

/**
 * LoadPolicy: a run without a session (a scheduled one) of a disabled policy is skipped, recording
 * nothing; a run with a session (run now) goes on whether the policy is enabled or not.
 */
export async function beginRunUnlessDisabled(store: ControlStore, account: string, policyId: string, maxConcurrency = DEFAULT_MAX_CONCURRENCY, sessionId?: string): Promise<RunStart | SkippedRun> {
  if (sessionId === undefined && !isEnabled(await loadRunPolicy(store, account, policyId))) {
    return { account, policyId, skipped: true, reason: `policy ${policyId} is disabled: scheduled runs do nothing until it is enabled` };
  }
  return beginRun(store, account, policyId, maxConcurrency, sessionId);
}

/** Discovers the policy's resources in each of its regions, plans them, and records a pending task each. */
export async function discoverRun(store: ControlStore, discovery: Discovery, run: RunRef, now: number): Promise<ResourceItem[]> {
  const policy = await loadRunPolicy(store, run.account, run.policyId);
  const types = policy.selection.resourceTypes;
  const found = [];
  for (const region of policy.regions) found.push(...(await discovery.list(region, types)));
  const items = await planRun(store, policy, run, found, now);
  await recordTasks(store, run.account, run.sessionId, items.map((i) => i.resource.id));
  return items;
}

/**
 * Marks the resource's task running and starts its snapshots; an instance with application
 * consistency gets its pre/post scripts through `scripts` (app-consistency.ts).
 */
export async function startResource(store: ControlStore, snapshotter: Snapshotter, item: ResourceItem, scripts?: ScriptRunner, wait?: ScriptWait): Promise<SnapshotProgress> {
  await markTaskRunning(store, item.run.account, item.run.sessionId, item.resource.id);
  return snapshotResource(snapshotter, scripts, item, wait);
}
