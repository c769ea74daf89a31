// The embedded default's orchestration: runs the CDK-synthesized backup state machine in this process
// (aws-local-stepfunctions), each Task state calling the same use-case its Lambda calls, with local adapters.
import { createHash, randomUUID } from 'node:crypto';
import { recordVolumeStates } from '../core/orchestration/volume-state.ts';
import { asAccountId, asSessionId } from '../core/control/control-ids.ts';
import type { ControlStore, Session, Task } from '../core/control/control-store.ts';
import { CloudkeepError } from '../core/errors.ts';
import { SnapshotFailedError } from '../core/orchestration/errors.ts';
import { loadRunPolicy } from '../core/orchestration/plan-run.ts';
import type { Discovery, Snapshotter, WorkerRecord, WorkerRecordStore } from '../core/orchestration/ports.ts';
import { beginRun, discoverRun, startResource } from '../core/orchestration/run-steps.ts';
import type { ItemResult, ResourceItem, RunRef } from '../core/orchestration/run-types.ts';
import { finishSession, itemErrorText } from '../core/orchestration/session-bookkeeping.ts';
import { pruneResourceSnapshots } from '../core/orchestration/snapshot-retention.ts';
import { checkSnapshots, type SnapshotProgress } from '../core/orchestration/snapshot-run.ts';
import { buildWorkerTask, cleanupWorker, taskUserData } from '../core/orchestration/worker-run.ts';
import { parsePolicy, type Policy } from '../core/policy/policy-schema.ts';
import { LOCAL_REGION } from '../providers/local/local-discovery.ts';
import type { LocalWorkerLauncher, LocalWorkerOutput } from '../providers/local/local-worker-launcher.ts';
import { taskProgressRecorder } from './local-task-progress.ts';
import type { Definition } from './state-machine-definition.ts';
import type { SessionLog } from '../functions/api/ports.ts';
import { formatBytes } from '../core/util/units.ts';

/**
 * The (placeholder) AWS account of local policies. Local runs are recorded under the policy's account,
 * workers write it into the restore points, and the local server's token grants it: one account.
 */
export const LOCAL_ACCOUNT = '000000000000';

/** The built-in demo policy: every local volume, backed up into `repository` daily (incrementals after the first). */
export function demoPolicy(repository: string, id = 'local-demo'): Policy {
  return parsePolicy({
    id, name: 'Local volumes (demo)',
    account: { provider: 'aws', id: LOCAL_ACCOUNT, roleArn: `arn:aws:iam::${LOCAL_ACCOUNT}:role/cloudkeep-local` },
    regions: [LOCAL_REGION],
    selection: { resourceTypes: ['ebs-volume'] },
    backup: { schedule: 'rate(1 day)', timeZone: 'UTC', retention: { keepLast: 7 }, repository },
  }, 'demo policy');
}

export interface LocalRunOptions {
  store: ControlStore;
  discovery: Discovery;
  snapshotter: Snapshotter;
  launcher: LocalWorkerLauncher;
  definition: Definition;
  /** The policy's account (default LOCAL_ACCOUNT). */
  account?: string;
  policyId: string;
  /** Called once LoadPolicy opened the session (the run goes on). */
  onSession?: (sessionId: string) => void;
  /** Where the session's events go (started, discovered, snapshot taken, worker started, committed/failed, finished). */
  sessionLog?: SessionLog;
  /** Key spec written into worker task documents (the local launcher opens repositories itself). */
  keySpec?: string;
  maxConcurrency?: number;
  /** Clock of the run's planning (backup due, retention). */
  now?: () => number;
  /** Back up every image-level resource, due or not. */
  force?: boolean;
}

export interface LocalRunResult {
  sessionId: string;
  status: string;
  session: Session | undefined;
  tasks: Task[];
  /** The worker outputs by resource id. */
  workers: Record<string, LocalWorkerOutput>;
}

type Item = ResourceItem & { snapshots: SnapshotProgress; worker?: unknown; workerError?: ItemResult['error'] };

/** Errors as Step Functions sees a Lambda's: the name is the state's Error (what Retry/Catch match). */
function stateError(err: unknown, worker = false): Error {
  const e = new Error((err as Error)?.message ?? String(err));
  e.name = worker ? 'States.TaskFailed' : err instanceof SnapshotFailedError ? 'Cloudkeep.SnapshotFailed' : err instanceof CloudkeepError ? 'Cloudkeep.Failed' : 'Cloudkeep.InternalError';
  return e;
}

/** The workers of one run in memory, so CleanupWorker terminates a failed worker's process. */
function workerRecords(): WorkerRecordStore & { set(resourceId: string, record: WorkerRecord): void } {
  const records = new Map<string, WorkerRecord>();
  return {
    set: (resourceId, record) => void records.set(resourceId, record),
    recordWorkerToken: async (_a, _s, resourceId, token) => void records.set(resourceId, { ...records.get(resourceId), token }),
    recordWorkerInstance: async (_a, _s, resourceId, instanceId) => void records.set(resourceId, { ...records.get(resourceId), instanceId }),
    getWorker: async (_a, _s, resourceId) => records.get(resourceId),
  };
}

/** Runs the policy once through the state machine; resolves with the session and its tasks once the execution ends. */
export async function runLocal(o: LocalRunOptions): Promise<LocalRunResult> {
  const { store, snapshotter, launcher } = o;
  const account = o.account ?? LOCAL_ACCOUNT;
  const now = o.now ?? Date.now;
  const workers: Record<string, LocalWorkerOutput> = {};
  const records = workerRecords();
  // A lost log entry must not fail the run.
  const note = (run: RunRef, message: string, resourceId?: string, level: 'info' | 'error' = 'info') =>
    o.sessionLog?.append(run.account, run.sessionId, { time: Date.now(), level, message, ...(resourceId ? { resourceId } : {}) }).catch(() => undefined);
  const handlers: Record<string, (input: never) => Promise<unknown>> = {
    LoadPolicy: async (i: { account: string; policyId: string; maxConcurrency?: number }) => {
      const run = await beginRun(store, i.account, i.policyId, i.maxConcurrency);
      o.onSession?.(run.sessionId);
      await note(run, `session started: policy ${run.policyId}`);
      return run;
    },
    Discover: async (run: RunRef) => {
      const items = await discoverRun(store, o.discovery, run, now());
      await note(run, `discovered ${items.length} resource(s)`);
      return { items: o.force ? items.map((i) => ({ ...i, backupDue: i.backupDue || i.resource.type === 'ebs-volume' || i.resource.type === 'ec2-instance' })) : items };
    },
    TakeSnapshots: async (item: ResourceItem) => {
      const snapshots = await startResource(store, snapshotter, item);
      await note(item.run, `snapshot taken: ${snapshots.snapshotIds.join(', ')}`, item.resource.id);
      return snapshots;
    },
    CheckSnapshots: (item: Item) => checkSnapshots(snapshotter, item, item.snapshots.snapshotIds),
    PruneSnapshots: async (item: Item) => {
      const pruned = await pruneResourceSnapshots(snapshotter, store, item, now());
      const { id, type, region } = item.resource;
      return { resource: { id, type, region }, status: 'succeeded', snapshotIds: item.snapshots.snapshotIds, deleted: pruned.deleted, worker: item.worker };
    },
    // .waitForTaskToken: launches the in-process worker; its output is what the worker's SendTaskSuccess would carry.
    StartWorker: async (input: { Payload?: unknown }) => {
      const { taskToken, item } = (input.Payload ?? input) as { taskToken: string; item: Item };
      const policy = await loadRunPolicy(store, item.run.account, item.run.policyId);
      const task = await buildWorkerTask(store, policy, item, item.snapshots.volumes ?? [], taskToken, { keySpec: o.keySpec ?? 'passphrase' });
      const clientToken = createHash('sha256').update(taskToken).update(item.resource.id).digest('hex');
      const { instanceId } = await launcher.launch({ region: item.resource.region, instanceType: 'local', subnetId: 'local', spot: false, userData: taskUserData(task), tags: item.tags, clientToken });
      records.set(item.resource.id, { instanceId });
      await note(item.run, `worker ${instanceId} started${task.parentPointId ? ` (incremental from ${task.parentPointId})` : ''}`, item.resource.id);
      const progress = taskProgressRecorder(store, item.run.account, item.run.sessionId, item.resource.id);
      let output: LocalWorkerOutput;
      try {
        output = await launcher.wait(instanceId, progress.listener);
      } catch (err) {
        await progress.settled();
        await note(item.run, `backup failed: ${(err as Error).message}`, item.resource.id, 'error');
        throw stateError(err, true);
      }
      await progress.finish(output.stats);
      await recordVolumeStates(store, item.run.account, item.resource.region, item.snapshots.volumes ?? [], output.pointId);
      workers[item.resource.id] = output;
      const st = output.stats;
      await note(item.run, `backup committed: ${st.kind} restore point ${output.pointId}, ${formatBytes(st.bytesRead)} read, ${formatBytes(st.bytesStored)} stored`, item.resource.id);
      return output;
    },
    CleanupWorker: (item: Item) => cleanupWorker(store, records, launcher, snapshotter, item, item.snapshots.snapshotIds, item.workerError),
    RecordSession: async (i: { run: RunRef; results: ItemResult[]; failure?: ItemResult['error'] }) => {
      const outcome = await finishSession(store, i.run.account, i.run.sessionId, i.results, i.failure === undefined ? undefined : `run failed: ${itemErrorText(i.failure)}`);
      await note(i.run, `finished: ${outcome.status}, ${outcome.succeeded} succeeded, ${outcome.failed} failed`, undefined, outcome.status === 'succeeded' ? 'info' : 'error');
      return outcome;
    },
  };
  const wrapped = Object.fromEntries(Object.entries(handlers).map(([name, fn]) => [name, async (input: unknown) => {
    try {
      return (await fn(input as never)) as never;
    } catch (err) {
      throw err instanceof Error && /^(States|Cloudkeep)\./.test(err.name) ? err : stateError(err);
    }
  }]));
  const zero = Object.fromEntries(Object.keys(handlers).concat('FailSession').map((n) => [n, 0]));
  // Loaded here, not at import: aws-local-stepfunctions and aws-cdk-lib are dev dependencies the rest of the CLI does without.
  const { StateMachine } = await import('aws-local-stepfunctions');
  const machine = new StateMachine(o.definition as never);
  const execution = machine.run({ account, policyId: o.policyId, maxConcurrency: o.maxConcurrency ?? 1 } as never, {
    context: { Task: { Token: `local-${randomUUID()}` } } as never,
    overrides: { taskResourceLocalHandlers: wrapped, waitTimeOverrides: { WaitForSnapshots: 0 }, retryIntervalOverrides: zero },
  });
  const output = (await execution.result) as { sessionId: string; status: string };
  const session = await store.getSession(asAccountId(account), asSessionId(output.sessionId));
  const tasks = await store.listTasks(asAccountId(account), asSessionId(output.sessionId));
  return { sessionId: output.sessionId, status: output.status, session, tasks, workers };
}
