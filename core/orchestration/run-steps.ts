// The use-cases behind the state machine's steps: begin a run, discover and plan it, start a resource.
import type { ControlStore } from '../control/control-store.ts';
import { InvalidArgumentError } from '../errors.ts';
import { loadRunPolicy, planRun } from './plan-run.ts';
import type { Discovery, Snapshotter } from './ports.ts';
import type { ResourceItem, RunRef } from './run-types.ts';
import { markTaskRunning, recordTasks, startSession } from './session-bookkeeping.ts';
import { takeSnapshots, type SnapshotProgress } from './snapshot-run.ts';

export const DEFAULT_MAX_CONCURRENCY = 4;

export interface RunStart extends RunRef {
  maxConcurrency: number;
}

/** Loads and validates the policy, then opens the session. */
export async function beginRun(store: ControlStore, account: string, policyId: string, maxConcurrency = DEFAULT_MAX_CONCURRENCY): Promise<RunStart> {
  const policy = await loadRunPolicy(store, account, policyId);
  if (policy.account.provider !== 'aws') throw new InvalidArgumentError(`policy ${policyId} protects an ${policy.account.provider} account; this state machine runs AWS policies`);
  const session = await startSession(store, account, policyId);
  return { account, policyId, sessionId: session.id, roleArn: policy.account.roleArn, maxConcurrency };
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

/** Marks the resource's task running and starts its snapshots. */
export async function startResource(store: ControlStore, snapshotter: Snapshotter, item: ResourceItem): Promise<SnapshotProgress> {
  await markTaskRunning(store, item.run.account, item.run.sessionId, item.resource.id);
  return takeSnapshots(snapshotter, item);
}

