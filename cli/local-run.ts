// The embedded default's orchestration: runs the CDK-synthesized backup state machine in this process
// (aws-local-stepfunctions), each Task state calling the same use-case its Lambda calls, with local adapters.
import { createHash, randomUUID } from 'node:crypto';
import { recordVolumeStates } from '../core/orchestration/volume-state.ts';
import { existsSync, readFileSync } from 'node:fs';
import { asAccountId, asPolicyId, asSessionId } from '../core/control/control-ids.ts';
import type { ControlStore, JsonObject, Session, Task } from '../core/control/control-store.ts';
import { CloudkeepError, InvalidArgumentError } from '../core/errors.ts';
import { SnapshotFailedError } from '../core/orchestration/errors.ts';
import { loadRunPolicy } from '../core/orchestration/plan-run.ts';
import type { Discovery, Snapshotter, WorkerRecordStore } from '../core/orchestration/ports.ts';
import { beginRun, discoverRun, startResource } from '../core/orchestration/run-steps.ts';
import type { ItemResult, ResourceItem, RunRef } from '../core/orchestration/run-types.ts';
import { finishSession, itemErrorText } from '../core/orchestration/session-bookkeeping.ts';
import { pruneResourceSnapshots } from '../core/orchestration/snapshot-retention.ts';
import { checkSnapshots, type SnapshotProgress } from '../core/orchestration/snapshot-run.ts';
import { buildWorkerTask, cleanupWorker, taskUserData } from '../core/orchestration/worker-run.ts';
import { parsePolicy, type Policy } from '../core/policy/policy-schema.ts';
import { LOCAL_REGION } from '../providers/local/local-discovery.ts';
import type { LocalWorkerLauncher, LocalWorkerOutput } from '../providers/local/local-worker-launcher.ts';

/** The control-store account local runs are recorded under, and the (placeholder) member account of local policies. */
export const LOCAL_ACCOUNT = 'local';
export const LOCAL_MEMBER_ACCOUNT = '000000000000';

type Definition = Record<string, unknown>;
type Resources = Record<string, { Type: string; Properties?: Record<string, unknown> }>;

/**
 * Resolves Ref / Fn::GetAtt / Fn::Join in the DefinitionString to placeholder ARNs. A minimal copy of
 * test/support/state-machine-definition.ts (tests stay out of the CLI): local runs map Task states by
 * name, so the ARNs only need to be well-formed.
 */
function resolve(value: unknown, resources: Resources): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => resolve(v, resources));
  const obj = value as Record<string, unknown>;
  const [key] = Object.keys(obj);
  const arn = (id: string) => (resources[id]?.Type === 'AWS::Lambda::Function' ? `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_MEMBER_ACCOUNT}:function:${id}` : `arn:aws:local:${LOCAL_REGION}:${LOCAL_MEMBER_ACCOUNT}:${id}`);
  const pseudo: Record<string, string> = { 'AWS::Partition': 'aws', 'AWS::Region': LOCAL_REGION, 'AWS::AccountId': LOCAL_MEMBER_ACCOUNT, 'AWS::URLSuffix': 'amazonaws.com', 'AWS::StackName': 'local' };
  if (key === 'Fn::Join') {
    const [sep, parts] = obj[key] as [string, unknown[]];
    return parts.map((p) => resolve(p, resources)).join(sep);
  }
  if (key === 'Fn::GetAtt') return arn((obj[key] as [string])[0]);
  if (key === 'Ref') return pseudo[obj.Ref as string] ?? arn(obj.Ref as string);
  if (key?.startsWith('Fn::')) throw new Error(`unsupported intrinsic ${key} in the state machine definition`);
  return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, resolve(v, resources)]));
}

/**
 * The source checkout holding cdk.json and infra/ (from cli/ or dist/cli/). infra/ is imported by path,
 * not by a literal specifier, so the CLI build does not compile the CDK app into dist/.
 */
function projectRoot(): URL {
  for (const up of ['../', '../../']) {
    const root = new URL(up, import.meta.url);
    if (existsSync(new URL('cdk.json', root)) && existsSync(new URL('infra/cloudkeep-app.ts', root))) return root;
  }
  throw new InvalidArgumentError('local runs synthesize the state machine from the Cloudkeep sources: cdk.json and infra/ were not found next to the CLI');
}

interface CdkApp {
  buildCloudkeepApp(app: unknown, config: { nag?: boolean; memberTrust?: { controlPlaneRoleArn: string; externalId: string } }): unknown;
}

/** Synthesizes the control-plane stack (no bundling, no validation, no cdk-nag) and returns its state machine definition. */
export async function synthesizeDefinition(): Promise<Definition> {
  const root = projectRoot();
  const context = (JSON.parse(readFileSync(new URL('cdk.json', root), 'utf8')) as { context?: Record<string, unknown> }).context ?? {};
  const { App } = await import('aws-cdk-lib');
  const { buildCloudkeepApp } = (await import(new URL('infra/cloudkeep-app.ts', root).href)) as CdkApp;
  const app = new App({ context: { ...context, 'aws:cdk:bundling-stacks': [] }, builtinCloudFormationValidation: false });
  buildCloudkeepApp(app, { nag: false, memberTrust: { controlPlaneRoleArn: `arn:aws:iam::${LOCAL_MEMBER_ACCOUNT}:role/cloudkeep-local`, externalId: 'cloudkeep-local' } });
  const template = app.synth().getStackByName('CloudkeepControlPlane').template as { Resources: Resources };
  const machines = Object.values(template.Resources).filter((r) => r.Type === 'AWS::StepFunctions::StateMachine');
  if (machines.length !== 1) throw new Error(`expected one state machine in the control-plane template, found ${machines.length}`);
  return JSON.parse(resolve(machines[0].Properties?.DefinitionString, template.Resources) as string) as Definition;
}

/** The built-in demo policy: every local volume, backed up into `repository` daily (incrementals after the first). */
export function demoPolicy(repository: string, id = 'local-demo'): Policy {
  return parsePolicy({
    id, name: 'Local volumes (demo)',
    account: { provider: 'aws', id: LOCAL_MEMBER_ACCOUNT, roleArn: `arn:aws:iam::${LOCAL_MEMBER_ACCOUNT}:role/cloudkeep-local` },
    regions: [LOCAL_REGION],
    selection: { resourceTypes: ['ebs-volume'] },
    backup: { schedule: 'rate(1 day)', timeZone: 'UTC', retention: { keepLast: 7 }, repository },
  }, 'demo policy');
}

/** Stores `policy` under `account` (replacing an earlier version). */
export async function putLocalPolicy(store: ControlStore, account: string, policy: Policy): Promise<void> {
  const existing = await store.getPolicy(asAccountId(account), asPolicyId(policy.id));
  await store.putPolicy(asAccountId(account), { id: asPolicyId(policy.id), name: policy.name, body: policy as unknown as JsonObject }, existing?.version ?? 0);
}

export interface LocalRunOptions {
  store: ControlStore;
  discovery: Discovery;
  snapshotter: Snapshotter;
  launcher: LocalWorkerLauncher;
  definition: Definition;
  account?: string;
  policyId: string;
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

const noWorkerRecords: WorkerRecordStore = { recordWorkerToken: async () => undefined, recordWorkerInstance: async () => undefined, getWorker: async () => undefined };


/** Runs the policy once through the state machine; resolves with the session and its tasks once the execution ends. */
export async function runLocal(o: LocalRunOptions): Promise<LocalRunResult> {
  const { store, snapshotter, launcher } = o;
  const account = o.account ?? LOCAL_ACCOUNT;
  const now = o.now ?? Date.now;
  const workers: Record<string, LocalWorkerOutput> = {};
  const handlers: Record<string, (input: never) => Promise<unknown>> = {
    LoadPolicy: (i: { account: string; policyId: string; maxConcurrency?: number }) => beginRun(store, i.account, i.policyId, i.maxConcurrency),
    Discover: async (run: RunRef) => {
      const items = await discoverRun(store, o.discovery, run, now());
      return { items: o.force ? items.map((i) => ({ ...i, backupDue: i.backupDue || i.resource.type === 'ebs-volume' || i.resource.type === 'ec2-instance' })) : items };
    },
    TakeSnapshots: (item: ResourceItem) => startResource(store, snapshotter, item),
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
      let output: LocalWorkerOutput;
      try {
        output = await launcher.wait(instanceId);
      } catch (err) {
        throw stateError(err, true);
      }
      await recordVolumeStates(store, item.run.account, item.resource.region, item.snapshots.volumes ?? [], output.pointId);
      workers[item.resource.id] = output;
      return output;
    },
    CleanupWorker: (item: Item) => cleanupWorker(store, noWorkerRecords, launcher, snapshotter, item, item.snapshots.snapshotIds, item.workerError),
    RecordSession: (i: { run: RunRef; results: ItemResult[]; failure?: ItemResult['error'] }) =>
      finishSession(store, i.run.account, i.run.sessionId, i.results, i.failure === undefined ? undefined : `run failed: ${itemErrorText(i.failure)}`),
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
