// Composition root of the orchestration handlers: adapters built once per container from the environment.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { ControlStore } from '../../core/control/control-store.ts';
import { InvalidArgumentError } from '../../core/errors.ts';
import type { Discovery, RoleAssumer, ScriptRunner, Snapshotter, WorkerLauncher, WorkerRecordStore } from '../../core/orchestration/ports.ts';
import type { WorkerSettings } from '../../core/orchestration/worker-run.ts';
import type { AwsAdapterOptions } from '../../providers/aws/aws-call.ts';
import { AwsDiscovery } from '../../providers/aws/aws-discovery.ts';
import { AwsRoleAssumer } from '../../providers/aws/aws-role-assumer.ts';
import { AwsScriptRunner } from '../../providers/aws/aws-script-runner.ts';
import { AwsSnapshotter } from '../../providers/aws/aws-snapshotter.ts';
import { AwsWorkerLauncher } from '../../providers/aws/aws-worker-launcher.ts';
import { DynamoDbControlStore } from '../../providers/aws/dynamodb-control-store.ts';
import { DynamoDbWorkerTokens } from '../../providers/aws/dynamodb-worker-tokens.ts';

/** Environment variables the handlers read; the CDK stack sets the first three. */
export const ENV = {
  table: 'CONTROL_TABLE_NAME',
  externalId: 'CLOUDKEEP_EXTERNAL_ID',
  region: 'AWS_REGION',
  // StartWorker only: the worker launch template (id or name) and the repository key spec.
  launchTemplate: 'CLOUDKEEP_WORKER_LAUNCH_TEMPLATE',
  workerKey: 'CLOUDKEEP_WORKER_KEY',
  // The account's GetSnapshotBlock quota (requests/s) and how many workers of one account share it.
  accountReadRps: 'CLOUDKEEP_ACCOUNT_READ_RPS',
  accountWorkerSlots: 'CLOUDKEEP_ACCOUNT_WORKER_SLOTS',
  // Endpoint overrides, for tests against local servers only.
  dynamodbEndpoint: 'CLOUDKEEP_ENDPOINT_DYNAMODB',
  ec2Endpoint: 'CLOUDKEEP_ENDPOINT_EC2',
  rdsEndpoint: 'CLOUDKEEP_ENDPOINT_RDS',
  stsEndpoint: 'CLOUDKEEP_ENDPOINT_STS',
  ssmEndpoint: 'CLOUDKEEP_ENDPOINT_SSM',
  maxAttempts: 'CLOUDKEEP_AWS_MAX_ATTEMPTS',
} as const;

/** The member-account adapters (core/orchestration/ports.ts MemberAccountClients, built with one role session). */
export interface MemberAdapters {
  discovery: Discovery;
  snapshotter: Snapshotter;
  /** Pre/post snapshot scripts (SSM Run Command). */
  scripts: ScriptRunner;
}

export interface Deps {
  store: ControlStore;
  workerTokens: WorkerRecordStore;
  roles: RoleAssumer;
  /** Worker instances (control-plane account); fails on use when the launch template is not configured. */
  launcher(): WorkerLauncher;
  workerSettings(): WorkerSettings;
  /** Adapters acting in the member account through `roleArn` (credentials cached until near expiry). */
  member(roleArn: string, sessionName: string): Promise<MemberAdapters>;
  now(): number;
}

function required(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name];
  if (!value) throw new Error(`environment variable ${name} is not set; the CDK stack sets it`);
  return value;
}

/** An optional whole number of at least 1; a clear error naming the variable otherwise. */
function positiveInt(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new InvalidArgumentError(`${name}=${JSON.stringify(raw)}: expected a whole number of at least 1`);
  return value;
}

export function depsFromEnv(env: NodeJS.ProcessEnv): Deps {
  const region = required(env, ENV.region);
  const options: AwsAdapterOptions = {
    endpoints: { ec2: env[ENV.ec2Endpoint], rds: env[ENV.rdsEndpoint], sts: env[ENV.stsEndpoint] },
    maxAttempts: env[ENV.maxAttempts] ? Number(env[ENV.maxAttempts]) : undefined,
  };
  const dynamo = new DynamoDBClient({ region, ...(env[ENV.dynamodbEndpoint] ? { endpoint: env[ENV.dynamodbEndpoint] } : {}), maxAttempts: options.maxAttempts });
  const table = required(env, ENV.table);
  const roles = new AwsRoleAssumer({ ...options, region, externalId: required(env, ENV.externalId) });
  let launcher: WorkerLauncher | undefined;
  const members = new Map<string, { expires: number; adapters: MemberAdapters }>();
  return {
    store: new DynamoDbControlStore({ client: dynamo, tableName: table }),
    workerTokens: new DynamoDbWorkerTokens(dynamo, table),
    roles,
    launcher() {
      launcher ??= new AwsWorkerLauncher({ ...options, launchTemplate: required(env, ENV.launchTemplate) });
      return launcher;
    },
    workerSettings: () => ({
      keySpec: required(env, ENV.workerKey),
      accountReadRps: positiveInt(env, ENV.accountReadRps),
      accountWorkerSlots: positiveInt(env, ENV.accountWorkerSlots),
    }),
    async member(roleArn, sessionName) {
      const cached = members.get(roleArn);
      if (cached && cached.expires > Date.now() + 5 * 60_000) return cached.adapters;
      const credentials = await roles.assume(roleArn, sessionName);
      const adapters: MemberAdapters = {
        discovery: new AwsDiscovery(credentials, options),
        snapshotter: new AwsSnapshotter(credentials, options),
        scripts: new AwsScriptRunner(credentials, options, env[ENV.ssmEndpoint]),
      };
      members.set(roleArn, { expires: credentials.expiration, adapters });
      return adapters;
    },
    now: () => Date.now(),
  };
}

let cached: Deps | undefined;

/** The container's adapters, built on first use. */
export function deps(): Deps {
  cached ??= depsFromEnv(process.env);
  return cached;
}
