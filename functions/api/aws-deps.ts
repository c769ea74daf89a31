// The deployed API's dependencies, from the environment the CDK stack sets (infra/console-http-api.ts):
// Cognito sign-in, the DynamoDB control table, and the S3 repository read with the KMS key provider.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { systemClock } from '../../core/clock.ts';
import { Repository } from '../../core/repo/repository.ts';
import { RetryingObjectStore } from '../../core/store/retrying-object-store.ts';
import { s3StoreFromUrl } from '../../providers/aws/s3-object-store.ts';
import { DynamoDbControlStore } from '../../providers/aws/dynamodb-control-store.ts';
import { keyProviderFromSpec } from '../../providers/key-providers.ts';
import type { ApiDeps } from './api-deps.ts';
import { cognitoAuthenticatorFromEnv } from './cognito-auth.ts';
import type { Logger } from './router.ts';

/** Environment variables besides USER_POOL_ID and USER_POOL_CLIENT_ID (see cognito-auth.ts). */
export const AWS_API_ENV = { table: 'CONTROL_TABLE_NAME', repository: 'CLOUDKEEP_REPOSITORY', key: 'CLOUDKEEP_KEY', region: 'AWS_REGION' } as const;

function required(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name];
  if (!value) throw new Error(`environment variable ${name} is not set; the CDK stack sets it`);
  return value;
}

/**
 * Authenticator, control store and (when CLOUDKEEP_REPOSITORY is set) the opened repository. A
 * repository that cannot be opened (none yet before the first backup) is logged and left out: the
 * console still works, without restore points, until the function restarts.
 */
export async function awsApiDeps(env: NodeJS.ProcessEnv, log: Logger = () => {}): Promise<ApiDeps> {
  const authenticator = cognitoAuthenticatorFromEnv(env);
  const client = new DynamoDBClient({ region: required(env, AWS_API_ENV.region) });
  const store = new DynamoDbControlStore({ client, tableName: required(env, AWS_API_ENV.table) });
  const location = env[AWS_API_ENV.repository];
  if (!location) return { authenticator, store };
  const objects = new RetryingObjectStore(s3StoreFromUrl(new URL(location), env));
  const keys = [keyProviderFromSpec(required(env, AWS_API_ENV.key), env)];
  try {
    return { authenticator, store, repo: await Repository.open(objects, keys, systemClock) };
  } catch (err) {
    log({ level: 'ERROR', message: 'cannot open the repository: restore points are unavailable', repository: objects.description, error: String((err as Error)?.stack ?? err) });
    return { authenticator, store };
  }
}
