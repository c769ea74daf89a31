// Options of the S3 object store and their validation: bucket, prefix, region, storage classes, Object Lock.
import type { S3Client, S3ClientConfig } from '@aws-sdk/client-s3';
import type { Clock } from '../../core/clock.ts';
import { InvalidArgumentError } from '../../core/errors.ts';
import { assertValidKey, type ObjectKind } from '../../core/store/object-store.ts';
import { S3_ARCHIVE_CLASSES, S3_PACK_ONLY_CLASSES } from './s3-tiering.ts';

export type ObjectLockMode = 'GOVERNANCE' | 'COMPLIANCE';

export interface ObjectLockOptions {
  mode: ObjectLockMode;
  /** Every put carries a retain-until date this many days after the put. */
  days: number;
}

export interface S3ObjectStoreOptions {
  bucket: string;
  /** Key prefix inside the bucket, without leading or trailing '/'; '' or absent for the bucket root. */
  prefix?: string;
  region: string;
  /** A custom endpoint (MinIO, an emulator); the SDK's third-party checksum settings are then used. */
  endpoint?: string;
  /** Path-style addressing; defaults to true with a custom endpoint, false otherwise. */
  forcePathStyle?: boolean;
  /** Passed to the SDK client only, never kept or logged; absent means the SDK's default chain. */
  credentials?: S3ClientConfig['credentials'];
  /** Storage class per object kind; kinds not named are stored in STANDARD (no header sent). GLACIER, DEEP_ARCHIVE and GLACIER_IR: packs only. */
  storageClasses?: Partial<Record<ObjectKind, string>>;
  objectLock?: ObjectLockOptions;
  /** An injected client; endpoint, region, credentials and the settings below are then the client's. */
  client?: S3Client;
  /** Stamps Object Lock retain-until dates; defaults to the system clock. */
  clock?: Clock;
  /**
   * SDK attempts per call for a client built here. Default 1: retries belong to RetryingObjectStore,
   * which the composition root stacks once; SDK retries inside it would multiply the attempts.
   */
  maxAttempts?: number;
  /** Socket idle timeout of a built client, ms. Default 120000. */
  requestTimeoutMs?: number;
  /** Connect timeout of a built client, ms. Default 10000. */
  connectionTimeoutMs?: number;
}

/** Classes a GetObject can read at once. */
export const READABLE_STORAGE_CLASSES = ['STANDARD', 'STANDARD_IA', 'ONEZONE_IA', 'INTELLIGENT_TIERING', 'GLACIER_IR', 'REDUCED_REDUNDANCY', 'EXPRESS_ONEZONE'] as const;
/** Every class a put may name: the readable ones and, for packs only, the archives (restored before a read). */
export const STORAGE_CLASSES: readonly string[] = [...READABLE_STORAGE_CLASSES, ...S3_ARCHIVE_CLASSES];
export const OBJECT_KINDS: readonly ObjectKind[] = ['config', 'key', 'pack', 'tree-pack', 'index', 'manifest', 'marker'];
export const LOCK_MODES: readonly ObjectLockMode[] = ['GOVERNANCE', 'COMPLIANCE'];
/** S3's own limit on a single PutObject. */
export const MAX_PUT_BYTES = 5 * 1024 ** 3;
const MAX_LOCK_DAYS = 36500;

/** Bucket naming rules of general-purpose S3 buckets (3-63 of a-z 0-9 . -, letter or digit at both ends). */
export function checkBucket(bucket: string): string {
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket) || bucket.includes('..') || /^\d+\.\d+\.\d+\.\d+$/.test(bucket)) {
    throw new InvalidArgumentError(`S3 bucket ${JSON.stringify(bucket)}: expected 3 to 63 characters of a-z, 0-9, '.' and '-', starting and ending with a letter or digit`);
  }
  return bucket;
}

/** Normalizes a prefix ('a/b', with optional surrounding slashes) and checks its segments like core keys. */
export function checkPrefix(prefix: string | undefined): string {
  const trimmed = (prefix ?? '').replace(/^\/+|\/+$/g, '');
  if (trimmed === '') return '';
  try {
    assertValidKey(trimmed);
  } catch (err) {
    throw new InvalidArgumentError(`S3 prefix ${JSON.stringify(prefix)}: expected '/'-separated segments of A-Z a-z 0-9 . _ - (no empty, '.' or '..' segments)`, { cause: err });
  }
  if (trimmed.length > 512) throw new InvalidArgumentError(`S3 prefix of ${trimmed.length} characters: expected at most 512`);
  return trimmed;
}

/** An AWS region name (eu-west-1, us-gov-west-1); any lowercase name when a custom endpoint is used. */
export function checkRegion(region: string, customEndpoint: boolean): string {
  const aws = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/.test(region);
  const custom = /^[a-z0-9]+(-[a-z0-9]+)*$/.test(region) && region.length <= 32;
  if (!(aws || (customEndpoint && custom))) {
    const expected = customEndpoint ? 'lowercase letters, digits and single dashes' : 'an AWS region such as eu-west-1 or us-east-1';
    throw new InvalidArgumentError(`S3 region ${JSON.stringify(region)}: expected ${expected}`);
  }
  return region;
}

export function checkEndpoint(endpoint: string): string {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch (err) {
    throw new InvalidArgumentError(`S3 endpoint ${JSON.stringify(endpoint)}: expected an http:// or https:// URL such as http://127.0.0.1:9000`, { cause: err });
  }
  if (url.username !== '' || url.password !== '') {
    throw new InvalidArgumentError('S3 endpoint holds credentials: remove them; credentials come from the AWS SDK default chain (environment, profile, instance role)');
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.search !== '' || url.hash !== '') {
    throw new InvalidArgumentError(`S3 endpoint ${JSON.stringify(endpoint)}: expected an http:// or https:// URL without query or fragment, such as http://127.0.0.1:9000`);
  }
  return endpoint;
}

export function checkStorageClasses(classes: Partial<Record<ObjectKind, string>> | undefined): Partial<Record<ObjectKind, string>> {
  const out: Partial<Record<ObjectKind, string>> = {};
  for (const [kind, value] of Object.entries(classes ?? {})) {
    if (!OBJECT_KINDS.includes(kind as ObjectKind)) {
      throw new InvalidArgumentError(`storage class for ${JSON.stringify(kind)}: expected an object kind, one of ${OBJECT_KINDS.join(', ')}`);
    }
    if (value === undefined) continue;
    if (!STORAGE_CLASSES.includes(value)) {
      throw new InvalidArgumentError(`storage class ${JSON.stringify(value)} for ${kind}: expected one of ${STORAGE_CLASSES.join(', ')}`);
    }
    if (kind !== 'pack' && S3_PACK_ONLY_CLASSES.includes(value)) {
      throw new InvalidArgumentError(
        `storage class ${JSON.stringify(value)} for ${kind}: ${S3_PACK_ONLY_CLASSES.join(', ')} are for packs only; config, keys, indexes, manifests and markers must stay readable at once (use storageClass.pack=${value})`,
      );
    }
    out[kind as ObjectKind] = value;
  }
  return out;
}

export function checkObjectLock(lock: ObjectLockOptions | undefined): ObjectLockOptions | undefined {
  if (lock === undefined) return undefined;
  if (!LOCK_MODES.includes(lock.mode)) {
    throw new InvalidArgumentError(`Object Lock mode ${JSON.stringify(lock.mode)}: expected GOVERNANCE or COMPLIANCE`);
  }
  if (!Number.isSafeInteger(lock.days) || lock.days < 1 || lock.days > MAX_LOCK_DAYS) {
    throw new InvalidArgumentError(`Object Lock retention ${JSON.stringify(lock.days)} days: expected a whole number of days from 1 to ${MAX_LOCK_DAYS}`);
  }
  return { mode: lock.mode, days: lock.days };
}

export function checkPositiveInt(value: number | undefined, what: string, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isSafeInteger(v) || v < 1) throw new InvalidArgumentError(`${what} ${JSON.stringify(value)}: expected a whole number >= 1`);
  return v;
}
