// The CDK-synthesized backup state machine run locally: real handlers and SDK clients against the fake EC2/RDS/STS server and dynalite.
import { StateMachine } from 'aws-local-stepfunctions';
import { asAccountId, asPolicyId, asSessionId } from '../../core/control/control-ids.ts';
import type { JsonObject } from '../../core/control/control-store.ts';
import type { Policy } from '../../core/policy/policy-schema.ts';
import { buildCloudkeepApp } from '../../infra/cloudkeep-app.ts';
import { DynamoDbControlStore } from '../../providers/aws/dynamodb-control-store.ts';
import { createControlTable } from '../../providers/aws/dynamodb-control-table.ts';
import { testApp } from '../infra/cdk-test-app.ts';
import { startDynalite, type Dynalite } from './dynalite.ts';
import { startFakeAwsServer, type FakeAwsServer } from './fake-aws-query-server.ts';
import { stateMachineDefinition } from './state-machine-definition.ts';

export const EXTERNAL_ID = 'external-id-0123456789';
type Handler = (event: unknown) => Promise<unknown>;
const FILES = {
  LoadPolicy: 'load-policy', Discover: 'discover', TakeSnapshots: 'take-snapshots', CheckSnapshots: 'check-snapshots',
  PruneSnapshots: 'prune-snapshots', StartWorker: 'start-worker', RecordSession: 'record-session',
};

export interface BackupMachine {
  dynalite: Dynalite;
  aws: FakeAwsServer;
  store: DynamoDbControlStore;
  table: string;
  /** The StartWorker calls of the runs: each stands for a worker that reported success. */
  workerCalls: { token: string; resourceId: string }[];
  /** Stores `policy` for `account` and starts an execution with `{ account, policyId, maxConcurrency: 2, ...input }`. */
  start(account: string, policy: Policy, options?: { token?: string; input?: Record<string, unknown> }): Promise<ReturnType<StateMachine['run']>>;
  /** start, then the execution's output, tasks and session once it ended. */
  run(account: string, policy: Policy, token?: string): Promise<{ output: { sessionId: string; status: string }; tasks: Awaited<ReturnType<DynamoDbControlStore['listTasks']>>; session: Awaited<ReturnType<DynamoDbControlStore['getSession']>> }>;
  stop(): Promise<void>;
}

/** Synthesizes the app (no validation, no bundling), starts dynalite and the fake cloud, and points the handlers' environment at them. */
export async function startBackupMachine(): Promise<BackupMachine> {
  const app = testApp();
  buildCloudkeepApp(app, { memberTrust: { controlPlaneRoleArn: 'arn:aws:iam::111122223333:role/control', externalId: EXTERNAL_ID } });
  const definition = stateMachineDefinition(app.synth().getStackByName('CloudkeepControlPlane').template);
  const [dynalite, aws] = await Promise.all([startDynalite(), startFakeAwsServer()]);
  const table = dynalite.tableName();
  await createControlTable(dynalite.client(), table);
  const store = new DynamoDbControlStore({ client: dynalite.client(), tableName: table });
  // The composition root reads these once, on the first handler call.
  Object.assign(process.env, {
    AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', CONTROL_TABLE_NAME: table, CLOUDKEEP_EXTERNAL_ID: EXTERNAL_ID,
    CLOUDKEEP_ENDPOINT_DYNAMODB: dynalite.endpoint, CLOUDKEEP_ENDPOINT_EC2: aws.endpoint, CLOUDKEEP_ENDPOINT_RDS: aws.endpoint, CLOUDKEEP_ENDPOINT_STS: aws.endpoint,
    CLOUDKEEP_AWS_MAX_ATTEMPTS: '1', POWERTOOLS_LOG_LEVEL: 'SILENT',
    CLOUDKEEP_WORKER_LAUNCH_TEMPLATE: 'cloudkeep-worker', CLOUDKEEP_WORKER_KEY: 'aws-kms:arn:aws:kms:us-east-1:111122223333:key/test',
  });
  const handlers: Record<string, Handler> = {};
  for (const [state, file] of Object.entries(FILES)) handlers[state] = ((await import(`../../functions/${file}.ts`)) as { handler: Handler }).handler;
  const workerCalls: BackupMachine['workerCalls'] = [];
  let validated = false;

  async function start(account: string, policy: Policy, { token = 'task-token-1', input = {} }: { token?: string; input?: Record<string, unknown> } = {}) {
    await store.putPolicy(asAccountId(account), { id: asPolicyId(policy.id), name: policy.name, body: policy as unknown as JsonObject }, 0);
    const machine = new StateMachine(definition as never, { validationOptions: { noValidate: validated } });
    validated = true;
    const local = (name: string) => async (event: unknown) => (await handlers[name](event)) as never;
    return machine.run({ account, policyId: policy.id, maxConcurrency: 2, ...input } as never, {
      context: { Task: { Token: token } } as never,
      overrides: {
        taskResourceLocalHandlers: {
          ...Object.fromEntries(['LoadPolicy', 'Discover', 'TakeSnapshots', 'CheckSnapshots', 'PruneSnapshots', 'RecordSession'].map((n) => [n, local(n)])),
          // .waitForTaskToken: the real handler records the token; the return stands for the worker's SendTaskSuccess.
          StartWorker: async (input: unknown) => {
            const payload = ((input as { Payload?: unknown }).Payload ?? input) as { taskToken: string; item: { resource: { id: string } } };
            await handlers.StartWorker(payload);
            workerCalls.push({ token: payload.taskToken, resourceId: payload.item.resource.id });
            return { restorePointId: `rp-${payload.item.resource.id}`, storedBytes: 1024 };
          },
        },
        waitTimeOverrides: { WaitForSnapshots: 0 },
        retryIntervalOverrides: { TakeSnapshots: 0, CheckSnapshots: 0, PruneSnapshots: 0, Discover: 0, LoadPolicy: 0, RecordSession: 0, CleanupWorker: 0, FailSession: 0 },
      },
    });
  }

  async function run(account: string, policy: Policy, token = 'task-token-1') {
    const execution = await start(account, policy, { token });
    const output = (await execution.result) as { sessionId: string; status: string };
    const tasks = await store.listTasks(asAccountId(account), asSessionId(output.sessionId));
    const session = await store.getSession(asAccountId(account), asSessionId(output.sessionId));
    return { output, tasks, session };
  }

  return { dynalite, aws, store, table, workerCalls, start, run, stop: async () => void (await Promise.all([dynalite.stop(), aws.stop()])) };
}
