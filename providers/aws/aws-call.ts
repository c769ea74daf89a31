// Shared plumbing of the AWS orchestration adapters: client config per region and SDK error translation.
import { CloudCallError } from '../../core/orchestration/errors.ts';
import type { MemberCredentials } from '../../core/orchestration/ports.ts';

/** Endpoint overrides (tests point these at local servers); one endpoint serves every region. */
export interface AwsEndpoints {
  ec2?: string;
  rds?: string;
  sts?: string;
}

export interface AwsAdapterOptions {
  endpoints?: AwsEndpoints;
  /** SDK attempts per call. @default 3 */
  maxAttempts?: number;
}

export function clientConfig(region: string, credentials: MemberCredentials | undefined, endpoint: string | undefined, options: AwsAdapterOptions) {
  return {
    region,
    ...(endpoint ? { endpoint } : {}),
    ...(credentials ? { credentials: { accessKeyId: credentials.accessKeyId, secretAccessKey: credentials.secretAccessKey, sessionToken: credentials.sessionToken } } : {}),
    maxAttempts: options.maxAttempts ?? 3,
  };
}

/** Runs one SDK call; failures become CloudCallError naming what was attempted. */
export async function awsCall<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    const e = err as { name?: string; message?: string; $retryable?: unknown; $metadata?: { httpStatusCode?: number } };
    const status = e.$metadata?.httpStatusCode ?? 0;
    const retryable = Boolean(e.$retryable) || status >= 500 || status === 429 || /Throttl|RequestLimitExceeded/.test(e.name ?? '');
    throw new CloudCallError(`${what} failed: ${e.name ?? 'Error'}: ${e.message ?? String(err)}`, { cause: err, retryable });
  }
}

/** A cache of one SDK client per region. */
export function perRegion<C>(make: (region: string) => C): (region: string) => C {
  const clients = new Map<string, C>();
  return (region) => {
    let client = clients.get(region);
    if (!client) clients.set(region, (client = make(region)));
    return client;
  };
}

export const tagMap = (tags: { Key?: string; Value?: string }[] | undefined): Record<string, string> =>
  Object.fromEntries((tags ?? []).filter((t) => t.Key !== undefined).map((t) => [t.Key as string, t.Value ?? '']));

export const tagList = (tags: Record<string, string>) => Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
