// Parses s3:// repository URLs into S3 store options; credentials never come from the URL.
import type { ObjectKind } from '../../core/store/object-store.ts';
import { InvalidArgumentError } from '../../core/errors.ts';
import {
  checkBucket,
  checkEndpoint,
  checkObjectLock,
  checkPrefix,
  checkRegion,
  checkStorageClasses,
  LOCK_MODES,
  OBJECT_KINDS,
  type ObjectLockMode,
  type ObjectLockOptions,
  type S3ObjectStoreOptions,
} from './s3-options.ts';

export const S3_URL_FORM = 's3://<bucket>[/<prefix>][?region=<region>&endpoint=<url>&forcePathStyle=true|false&storageClass.<kind>=<class>&lock=<GOVERNANCE|COMPLIANCE>:<days>]';
const STORAGE_CLASS_PARAM = 'storageClass.';

/** Environment variables read for a default region (AWS_REGION, then AWS_DEFAULT_REGION). */
export type RegionEnv = Record<string, string | undefined>;

/**
 * `s3://bucket/prefix?region=eu-west-1&endpoint=http://127.0.0.1:9000&storageClass.pack=STANDARD_IA&lock=GOVERNANCE:30`.
 * Unknown parameters are rejected, so a typo never silently drops a setting.
 */
export function parseS3Url(url: URL, env: RegionEnv = {}): S3ObjectStoreOptions {
  if (url.protocol !== 's3:') throw new InvalidArgumentError(`repository URL scheme ${JSON.stringify(url.protocol)}: expected s3: (${S3_URL_FORM})`);
  if (url.username !== '' || url.password !== '') {
    // The URL is not echoed: it holds a secret.
    throw new InvalidArgumentError(
      'S3 repository URL holds credentials (user:password@): remove them; credentials come from the AWS SDK default chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or an instance/task role)',
    );
  }
  if (url.hostname === '') throw new InvalidArgumentError(`S3 repository URL has no bucket: expected ${S3_URL_FORM}`);
  if (url.port !== '') throw new InvalidArgumentError(`S3 repository URL has a port after the bucket: expected ${S3_URL_FORM}; put a custom server in ?endpoint=`);
  if (url.hash !== '') throw new InvalidArgumentError(`S3 repository URL has a #fragment: expected ${S3_URL_FORM}`);
  const bucket = checkBucket(url.hostname);
  const prefix = checkPrefix(decodePath(url.pathname));

  const params = new Map<string, string>();
  for (const [name, value] of url.searchParams) {
    if (params.has(name)) throw new InvalidArgumentError(`S3 URL parameter ${name} is given twice: expected it once`);
    params.set(name, value);
  }
  const take = (name: string): string | undefined => {
    const value = params.get(name);
    params.delete(name);
    if (value === '') throw new InvalidArgumentError(`S3 URL parameter ${name} is empty: expected a value (${S3_URL_FORM})`);
    return value;
  };

  const endpointText = take('endpoint');
  const endpoint = endpointText === undefined ? undefined : checkEndpoint(endpointText);
  const regionText = take('region') ?? nonEmpty(env.AWS_REGION) ?? nonEmpty(env.AWS_DEFAULT_REGION) ?? (endpoint === undefined ? undefined : 'us-east-1');
  if (regionText === undefined) {
    throw new InvalidArgumentError('S3 repository URL has no region: add ?region=<region> (e.g. ?region=eu-west-1) or set AWS_REGION');
  }
  const region = checkRegion(regionText, endpoint !== undefined);
  const forcePathStyle = parseBoolean('forcePathStyle', take('forcePathStyle'));
  const lockText = take('lock');
  const objectLock = lockText === undefined ? undefined : parseLock(lockText);

  const storageClasses: Partial<Record<ObjectKind, string>> = {};
  for (const name of [...params.keys()]) {
    if (!name.startsWith(STORAGE_CLASS_PARAM)) continue;
    const kind = name.slice(STORAGE_CLASS_PARAM.length);
    if (!OBJECT_KINDS.includes(kind as ObjectKind)) {
      throw new InvalidArgumentError(`S3 URL parameter ${name}: expected storageClass.<kind> with kind one of ${OBJECT_KINDS.join(', ')}`);
    }
    storageClasses[kind as ObjectKind] = take(name);
  }
  if (params.size > 0) {
    const unknown = [...params.keys()].map((n) => JSON.stringify(n)).join(', ');
    throw new InvalidArgumentError(`unknown S3 URL parameter(s) ${unknown}: expected only region, endpoint, forcePathStyle, storageClass.<kind>, lock (${S3_URL_FORM})`);
  }

  return {
    bucket,
    prefix,
    region,
    ...(endpoint === undefined ? {} : { endpoint }),
    ...(forcePathStyle === undefined ? {} : { forcePathStyle }),
    ...(Object.keys(storageClasses).length === 0 ? {} : { storageClasses: checkStorageClasses(storageClasses) }),
    ...(objectLock === undefined ? {} : { objectLock }),
  };
}

/** "GOVERNANCE:30" -> { mode: 'GOVERNANCE', days: 30 }. */
export function parseLock(text: string): ObjectLockOptions {
  const m = /^([A-Za-z]+):(\d{1,6})$/.exec(text);
  const mode = m?.[1].toUpperCase();
  if (!m || !LOCK_MODES.includes(mode as ObjectLockMode)) {
    throw new InvalidArgumentError(`S3 URL parameter lock=${JSON.stringify(text)}: expected <GOVERNANCE|COMPLIANCE>:<days>, e.g. lock=GOVERNANCE:30`);
  }
  return checkObjectLock({ mode: mode as ObjectLockMode, days: Number(m[2]) }) as ObjectLockOptions;
}

function parseBoolean(name: string, text: string | undefined): boolean | undefined {
  if (text === undefined) return undefined;
  if (text === 'true') return true;
  if (text === 'false') return false;
  throw new InvalidArgumentError(`S3 URL parameter ${name}=${JSON.stringify(text)}: expected true or false`);
}

function decodePath(pathname: string): string {
  try {
    return decodeURIComponent(pathname);
  } catch (err) {
    throw new InvalidArgumentError(`S3 prefix ${JSON.stringify(pathname)}: expected '/'-separated segments of A-Z a-z 0-9 . _ -`, { cause: err });
  }
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}
