// An ObjectStore on an S3 bucket (or an S3-compatible server) through @aws-sdk/client-s3: one request per object.
import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  PutObjectRetentionCommand,
  RestoreObjectCommand,
  S3Client,
  type PutObjectCommandInput,
  type StorageClass,
} from '@aws-sdk/client-s3';
import { systemClock, type Clock } from '../../core/clock.ts';
import { throwIfAborted } from '../../core/errors.ts';
import {
  assertValidKey,
  StoreError,
  UnsupportedOperationError,
  type GetOptions, type IoOptions, type ObjectInfo, type ObjectKind, type ObjectLocker, type ObjectRetention,
  type ObjectStore, type ObjectTiering, type PutOptions, type RehydrateOptions, type StoreCapabilities, type TierState,
} from '../../core/store/object-store.ts';
import { errorCode, translateS3Error, type S3Op } from './s3-errors.ts';
import { checkRangeShape, crc32Base64, destroyBody, rangePastEnd, readBody, shortRead, totalFromContentRange, wholeSeconds } from './s3-io.ts';
import {
  checkBucket,
  checkEndpoint,
  checkObjectLock,
  checkPositiveInt,
  checkPrefix,
  checkRegion,
  checkStorageClasses,
  MAX_PUT_BYTES,
  type ObjectLockOptions,
  type S3ObjectStoreOptions,
} from './s3-options.ts';
import { restoreInput, S3_REHYDRATE_NOOP_CODES, tierFromHead } from './s3-tiering.ts';
import { parseS3Url } from './s3-url.ts';

export type { S3ObjectStoreOptions, ObjectLockOptions } from './s3-options.ts';

/** Keys per DeleteObjects request: S3's limit. */
export const DELETE_BATCH = 1000;
const DAY_MS = 24 * 60 * 60 * 1000;

export class S3ObjectStore implements ObjectStore, ObjectLocker, ObjectTiering {
  readonly bucket: string;
  /** The key prefix without a trailing '/', '' for the bucket root. */
  readonly prefix: string;
  readonly region: string;
  readonly description: string;
  readonly capabilities: StoreCapabilities;
  readonly #client: S3Client;
  readonly #root: string;
  readonly #storageClasses: Partial<Record<ObjectKind, string>>;
  readonly #objectLock: ObjectLockOptions | undefined;
  readonly lockDays: number | undefined;
  readonly #clock: Clock;

  constructor(options: S3ObjectStoreOptions) {
    this.bucket = checkBucket(options.bucket);
    this.prefix = checkPrefix(options.prefix);
    const endpoint = options.endpoint === undefined ? undefined : checkEndpoint(options.endpoint);
    this.region = checkRegion(options.region, endpoint !== undefined || options.client !== undefined);
    this.#root = this.prefix === '' ? '' : `${this.prefix}/`;
    this.#storageClasses = checkStorageClasses(options.storageClasses);
    this.#objectLock = checkObjectLock(options.objectLock);
    this.#clock = options.clock ?? systemClock;
    this.#client = options.client ?? buildClient(options, endpoint);
    this.description = `s3://${this.bucket}${this.prefix === '' ? '' : `/${this.prefix}`}`;
    // Conditional writes exist on S3, but the core never relies on them, so this adapter does not offer them.
    this.capabilities = { conditionalWrites: false, objectLock: this.#objectLock !== undefined, storageTiers: true };
    this.lockDays = this.#objectLock?.days;
  }

  /** The client in use, e.g. to add a request-counting middleware in tests. */
  get client(): S3Client {
    return this.#client;
  }

  async put(key: string, data: Uint8Array, options: PutOptions = {}): Promise<void> {
    const { signal } = options;
    const objectKey = this.#objectKey(key);
    if (data.byteLength > MAX_PUT_BYTES) {
      throw new StoreError(`put ${key} in ${this.description}: ${data.byteLength} bytes exceed the ${MAX_PUT_BYTES}-byte limit of one S3 PutObject`, key);
    }
    throwIfAborted(signal);
    const input: PutObjectCommandInput = {
      Bucket: this.bucket,
      Key: objectKey,
      Body: data,
      ContentLength: data.byteLength,
      ContentType: 'application/octet-stream',
      // S3 checks the body against it (and Object Lock puts require a checksum); computed here, so the SDK adds nothing.
      ChecksumAlgorithm: 'CRC32',
      ChecksumCRC32: crc32Base64(data),
    };
    const storageClass = options.kind === undefined ? undefined : this.#storageClasses[options.kind];
    if (storageClass !== undefined) input.StorageClass = storageClass as StorageClass;
    // Markers and leases are bookkeeping that prune and backups must delete on time: never locked.
    if (this.#objectLock !== undefined && options.kind !== 'marker') {
      input.ObjectLockMode = this.#objectLock.mode;
      input.ObjectLockRetainUntilDate = new Date(this.#clock.now() + this.#objectLock.days * DAY_MS);
    }
    await this.#call('put', key, signal, () => this.#client.send(new PutObjectCommand(input), { abortSignal: signal }));
  }

  async get(key: string, options: GetOptions = {}): Promise<Buffer> {
    const { signal, range } = options;
    const objectKey = this.#objectKey(key);
    if (range !== undefined) checkRangeShape(key, range);
    throwIfAborted(signal);
    if (range !== undefined && range.length === 0) {
      // HTTP cannot ask for zero bytes; the object must still exist and be long enough.
      const { size } = await this.stat(key, { signal });
      if (range.offset > size) throw rangePastEnd(key, range, size);
      return Buffer.alloc(0);
    }
    const rangeHeader = range === undefined ? undefined : `bytes=${range.offset}-${range.offset + range.length - 1}`;
    try {
      const out = await this.#client.send(new GetObjectCommand({ Bucket: this.bucket, Key: objectKey, Range: rangeHeader }), { abortSignal: signal });
      // A server that ignores Range answers 200 with the whole object; S3 answers 206 with Content-Range.
      const partial = out.$metadata.httpStatusCode === 206 || out.ContentRange !== undefined;
      const total = partial ? totalFromContentRange(out.ContentRange) : out.ContentLength;
      if (range !== undefined && total !== undefined && range.offset + range.length > total) {
        destroyBody(out.Body);
        throw rangePastEnd(key, range, total);
      }
      const data = await readBody(out.Body, signal);
      if (range === undefined) {
        if (out.ContentLength !== undefined && data.length !== out.ContentLength) throw shortRead(key, data.length, out.ContentLength, this.description);
        return data;
      }
      const part = partial ? data : Buffer.from(data.subarray(range.offset, range.offset + range.length));
      if (part.length !== range.length) throw shortRead(key, part.length, range.length, this.description);
      return part;
    } catch (err) {
      if (range !== undefined && (err as { name?: unknown })?.name === 'InvalidRange') {
        throw rangePastEnd(key, range, await this.stat(key, { signal }).then((i) => i.size, () => undefined), err);
      }
      throw this.#translate(err, 'get', key, signal);
    }
  }

  async stat(key: string, options: IoOptions = {}): Promise<ObjectInfo> {
    const objectKey = this.#objectKey(key);
    throwIfAborted(options.signal);
    const command = new HeadObjectCommand({ Bucket: this.bucket, Key: objectKey });
    const out = await this.#call('stat', key, options.signal, () => this.#client.send(command, { abortSignal: options.signal }));
    return { key, size: out.ContentLength ?? 0, lastModified: wholeSeconds(out.LastModified) };
  }

  /** The object's Object Lock retain-until date (HeadObject), null when it has none. */
  async retention(key: string, options: IoOptions = {}): Promise<ObjectRetention> {
    const objectKey = this.#objectKey(key);
    throwIfAborted(options.signal);
    const command = new HeadObjectCommand({ Bucket: this.bucket, Key: objectKey });
    const out = await this.#call('stat', key, options.signal, () => this.#client.send(command, { abortSignal: options.signal }));
    return { retainUntil: out.ObjectLockRetainUntilDate === undefined ? null : out.ObjectLockRetainUntilDate.getTime() };
  }

  /** PutObjectRetention in the configured mode; S3 refuses to shorten a COMPLIANCE date. */
  async extendRetention(key: string, until: number, options: IoOptions = {}): Promise<void> {
    const lock = this.#objectLock;
    if (lock === undefined) throw new UnsupportedOperationError(`extend the lock of ${key}: ${this.description} has no Object Lock configured`);
    const objectKey = this.#objectKey(key);
    throwIfAborted(options.signal);
    const command = new PutObjectRetentionCommand({ Bucket: this.bucket, Key: objectKey, Retention: { Mode: lock.mode, RetainUntilDate: new Date(until) } });
    await this.#call('extendRetention', key, options.signal, () => this.#client.send(command, { abortSignal: options.signal }));
  }

  /** The object's class and restore state (HeadObject StorageClass, x-amz-restore, ArchiveStatus). */
  async tierOf(key: string, options: IoOptions = {}): Promise<TierState> {
    const command = new HeadObjectCommand({ Bucket: this.bucket, Key: this.#objectKey(key) });
    throwIfAborted(options.signal);
    return tierFromHead(await this.#call('tierOf', key, options.signal, () => this.#client.send(command, { abortSignal: options.signal })));
  }

  /** RestoreObject: a temporary readable copy for `days`; a restore already under way counts as requested. */
  async requestRehydrate(key: string, options: RehydrateOptions): Promise<void> {
    const command = new RestoreObjectCommand(restoreInput(this.bucket, this.#objectKey(key), options));
    throwIfAborted(options.signal);
    try {
      await this.#client.send(command, { abortSignal: options.signal });
    } catch (err) {
      if (!S3_REHYDRATE_NOOP_CODES.has(errorCode(err) ?? '')) throw this.#translate(err, 'requestRehydrate', key, options.signal);
    }
  }

  async *list(prefix: string, options: IoOptions = {}): AsyncIterable<ObjectInfo> {
    const { signal } = options;
    let token: string | undefined;
    do {
      throwIfAborted(signal);
      const command = new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.#root + prefix, ContinuationToken: token });
      const page = await this.#call('list', prefix, signal, () => this.#client.send(command, { abortSignal: signal }));
      for (const object of page.Contents ?? []) {
        const key = object.Key?.startsWith(this.#root) ? object.Key.slice(this.#root.length) : undefined;
        // Objects the core did not write (other tools, names outside the key alphabet) are not objects of this store.
        if (key === undefined || !isValidKey(key)) continue;
        yield { key, size: object.Size ?? 0, lastModified: wholeSeconds(object.LastModified) };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
      if (page.IsTruncated && token === undefined) {
        throw new StoreError(`list ${prefix} in ${this.description}: truncated page without a continuation token`, prefix, { retryable: true });
      }
    } while (token !== undefined);
  }

  async delete(key: string, options: IoOptions = {}): Promise<void> {
    const objectKey = this.#objectKey(key);
    throwIfAborted(options.signal);
    try {
      await this.#client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: objectKey }), { abortSignal: options.signal });
    } catch (err) {
      const name = (err as { name?: unknown })?.name;
      if (name === 'NoSuchKey' || name === 'NotFound') return; // S3 answers 204, some servers 404: gone either way
      throw this.#translate(err, 'delete', key, options.signal);
    }
  }

  /** Deletes many keys with DeleteObjects, 1000 per request; missing keys count as deleted. Not part of the port. */
  async deleteMany(keys: readonly string[], options: IoOptions = {}): Promise<void> {
    const { signal } = options;
    const objectKeys = keys.map((key) => this.#objectKey(key));
    for (let i = 0; i < objectKeys.length; i += DELETE_BATCH) {
      throwIfAborted(signal);
      const batch = objectKeys.slice(i, i + DELETE_BATCH);
      const first = keys[i];
      const command = new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } });
      const out = await this.#call('deleteMany', first, signal, () => this.#client.send(command, { abortSignal: signal }));
      const failed = (out.Errors ?? []).filter((e) => e.Code !== 'NoSuchKey');
      if (failed.length > 0) {
        const f = failed[0];
        const key = f.Key?.startsWith(this.#root) ? f.Key.slice(this.#root.length) : (f.Key ?? first);
        const retryable = failed.every((e) => e.Code === 'InternalError' || e.Code === 'SlowDown' || e.Code === 'ServiceUnavailable');
        throw new StoreError(`delete of ${failed.length} of ${batch.length} keys in ${this.description} failed, first ${key}: ${f.Code ?? 'error'}`, key, { retryable });
      }
    }
  }

  async #call<T>(op: S3Op, key: string, signal: AbortSignal | undefined, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      throw this.#translate(err, op, key, signal);
    }
  }

  #translate(err: unknown, op: S3Op, key: string, signal: AbortSignal | undefined): Error {
    return translateS3Error(err, { op, key, bucket: this.bucket, region: this.region, where: this.description, signal });
  }

  #objectKey(key: string): string {
    assertValidKey(key);
    return this.#root + key;
  }
}

/** Builds a store from `s3://bucket/prefix?region=...&endpoint=...&storageClass.pack=...&lock=MODE:DAYS`. */
export function s3StoreFromUrl(url: URL, env: Record<string, string | undefined> = {}): S3ObjectStore {
  return new S3ObjectStore(parseS3Url(url, env));
}

function buildClient(options: S3ObjectStoreOptions, endpoint: string | undefined): S3Client {
  const custom = endpoint !== undefined;
  return new S3Client({
    region: options.region,
    endpoint,
    forcePathStyle: options.forcePathStyle ?? custom,
    credentials: options.credentials,
    maxAttempts: checkPositiveInt(options.maxAttempts, 'maxAttempts', 1),
    requestHandler: {
      requestTimeout: checkPositiveInt(options.requestTimeoutMs, 'requestTimeoutMs', 120_000),
      connectionTimeout: checkPositiveInt(options.connectionTimeoutMs, 'connectionTimeoutMs', 10_000),
    },
    // Third-party servers mishandle the SDK's default trailing checksums; puts still carry our CRC32 header.
    ...(custom ? { requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' } : {}),
  });
}

function isValidKey(key: string): boolean {
  try {
    assertValidKey(key);
    return true;
  } catch {
    return false;
  }
}
