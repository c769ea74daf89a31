// The deployed API's dependencies, from the environment the CDK stack sets (infra/console-http-api.ts):
// Cognito sign-in, the DynamoDB control table, the S3 repository read with the KMS key provider, run now and
// restores through the state machines, and the inventory through the member roles.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SFNClient } from '@aws-sdk/client-sfn';
import { systemClock } from '../../core/clock.ts';
import { Repository } from '../../core/repo/repository.ts';
import { RetryingObjectStore } from '../../core/store/retrying-object-store.ts';
import { s3StoreFromUrl } from '../../providers/aws/s3-object-store.ts';
import { DynamoDbControlStore } from '../../providers/aws/dynamodb-control-store.ts';
import { keyProviderFromSpec } from '../../providers/key-providers.ts';
import { depsFromEnv } from '../shared/composition.ts';
import type { ApiDeps } from './api-deps.ts';
import { AwsInventory } from './aws-inventory.ts';
import { SfnPolicyRunner } from './aws-policy-runner.ts';
import { SfnRestoreService } from './aws-restores.ts';
import { cognitoAuthenticatorFromEnv } from './cognito-auth.ts';
import type { Logger } from './router.ts';
import { AwsScheduler } from '../../providers/aws/aws-scheduler.ts';

/** Environment variables besides USER_POOL_ID and USER_POOL_CLIENT_ID (see cognito-auth.ts). */
export const AWS_API_ENV = {
  table: 'CONTROL_TABLE_NAME',
  repository: 'CLOUDKEEP_REPOSITORY',
  key: 'CLOUDKEEP_KEY',
  region: 'AWS_REGION',
  /** Run now; absent: not offered. */
  backupStateMachine: 'CLOUDKEEP_BACKUP_STATE_MACHINE_ARN',
  /** Restores of the AWS kinds; absent: not offered. */
  restoreStateMachine: 'CLOUDKEEP_RESTORE_STATE_MACHINE_ARN',
  /** The member roles' ExternalId: plans, resources and timelines; absent: not offered. */
  externalId: 'CLOUDKEEP_EXTERNAL_ID',
  /** The schedule group and scheduler role: saving, enabling or disabling a policy updates its schedules; absent: schedules are `policy apply`'s. */
  scheduleGroup: 'CLOUDKEEP_SCHEDULE_GROUP',
  schedulerRole: 'CLOUDKEEP_SCHEDULER_ROLE_ARN',
} as const;

function required(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name];
  if (!value) throw new Error(`environment variable ${name} is not set; the CDK stack sets it`);
  return value;
}

/**
 * Authenticator, control store, (when CLOUDKEEP_REPOSITORY is set) the opened repository, and the
 * components whose variables are set. A repository that cannot be opened (none yet before the first
 * backup) is logged and left out: the console still works, without restore points, until the function restarts.
 */
export async function awsApiDeps(env: NodeJS.ProcessEnv, log: Logger = () => {}): Promise<ApiDeps> {
  const authenticator = cognitoAuthenticatorFromEnv(env);
  const region = required(env, AWS_API_ENV.region);
  const client = new DynamoDBClient({ region });
  const store = new DynamoDbControlStore({ client, tableName: required(env, AWS_API_ENV.table) });
  const repo = await openRepository(env, log);
  const sfn = new SFNClient({ region });
  const backup = env[AWS_API_ENV.backupStateMachine];
  const restore = env[AWS_API_ENV.restoreStateMachine];
  const groupName = env[AWS_API_ENV.scheduleGroup];
  const schedulerRole = env[AWS_API_ENV.schedulerRole];
  const schedules = backup && groupName && schedulerRole ? { scheduler: new AwsScheduler({ region }), targets: { stateMachineArn: backup, roleArn: schedulerRole, groupName } } : undefined;
  const inventory = env[AWS_API_ENV.externalId] ? new AwsInventory({ store, member: depsFromEnv(env).member }) : undefined;
  return {
    authenticator,
    store,
    ...(repo ? { repo } : {}),
    ...(backup ? { runner: new SfnPolicyRunner({ sfn, stateMachineArn: backup, store }) } : {}),
    ...(restore ? { restores: new SfnRestoreService({ sfn, stateMachineArn: restore, store, repo }) } : {}),
    ...(inventory ? { inventory, snapshots: inventory } : {}),
    ...(schedules ? { schedules } : {}),
  };
}

async function openRepository(env: NodeJS.ProcessEnv, log: Logger): Promise<Repository | undefined> {
  const location = env[AWS_API_ENV.repository];
  if (!location) return undefined;
  const objects = new RetryingObjectStore(s3StoreFromUrl(new URL(location), env));
  const keys = [keyProviderFromSpec(required(env, AWS_API_ENV.key), env)];
  try {
    return await Repository.open(objects, keys, systemClock);
  } catch (err) {
    log({ level: 'ERROR', message: 'cannot open the repository: restore points are unavailable', repository: objects.description, error: String((err as Error)?.stack ?? err) });
    return undefined;
  }
}
