// An ObjectStore on Azure Blob Storage block blobs: one Put Blob per object, ranged reads, tiers and WORM per kind.
import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { DefaultAzureCredential, type TokenCredential } from '@azure/identity';
import { ContainerClient, type BlobImmutabilityPolicy, type BlockBlobClient, type StoragePipelineOptions, type StorageSharedKeyCredential } from '@azure/storage-blob';
import { systemClock, type Clock } from '../../core/clock.ts';
import { InvalidArgumentError, throwIfAborted } from '../../core/errors.ts';
import {
  assertValidKey,
  StoreError,
  UnsupportedOperationError,
  type GetOptions, type IoOptions, type ObjectInfo, type ObjectKind, type ObjectLocker, type ObjectRetention,
  type ObjectStore, type ObjectTiering, type PutOptions, type RehydrateOptions, type StoreCapabilities, type TierState,
} from '../../core/store/object-store.ts';
import { mapLimit } from '../../core/util/concurrency.ts';
import { azureErrorToStoreError, azureStatusCode, type AzureErrorContext } from './azure-errors.ts';
import { checkRangeArgs, rangePastEnd, readBody, totalFromContentRange } from './azure-read.ts';
import { isValidKey, md5, normalizePrefix, positiveInt, validateImmutability } from './azure-blob-helpers.ts';
import { parseAzureStoreUrl, type AzureEnv } from './azure-store-url.ts';
import { checkAccessTiers, setRehydrateTier, tierFromProperties, type AzureAccessTier, type AzureRehydrateTier } from './azure-tiering.ts';

export type { AzureAccessTier, AzureRehydrateTier } from './azure-tiering.ts';

/** Version-level immutability (WORM) set on every written blob; the container needs version-level WORM enabled. */
export interface AzureImmutability {
  days: number;
  mode: 'Unlocked' | 'Locked';
}

export interface AzureBlobStoreOptions {
  /** A ready client (custom pipelines, tests); account, container, endpoint, credential and clientOptions are then unused. */
  containerClient?: ContainerClient;
  account?: string;
  container?: string;
  /** Key prefix inside the container, e.g. "backups/prod"; default none. */
  prefix?: string;
  /** Blob service URL; default https://<account>.blob.core.windows.net. For Azurite: http://127.0.0.1:10000/devstoreaccount1. */
  endpoint?: string;
  /** Default: DefaultAzureCredential. A shared key only when given explicitly (e.g. Azurite). */
  credential?: TokenCredential | StorageSharedKeyCredential;
  /** Pipeline options. Default: no SDK retries, since RetryingObjectStore retries in one place for every store. */
  clientOptions?: StoragePipelineOptions;
  /** Tier per kind; Archive for packs only. */
  accessTiers?: Partial<Record<ObjectKind, AzureAccessTier>>;
  /** Where requestRehydrate moves an archived blob. Default Hot. */
  rehydrateTier?: AzureRehydrateTier;
  immutability?: AzureImmutability;
  /** Stamps immutability expiries; default the system clock. */
  clock?: Clock;
  /** Larger objects go up as staged blocks + one commit. Default 256 MiB. */
  maxSinglePutBytes?: number;
  /** Block size above maxSinglePutBytes. Default 64 MiB. */
  blockSize?: number;
  /** Blobs per List Blobs page. Default 5000 (the service maximum). */
  listPageSize?: number;
}

const MiB = 1024 * 1024;
const DAY_MS = 24 * 60 * 60 * 1000;

export class AzureBlobObjectStore implements ObjectStore, ObjectLocker, ObjectTiering {
  readonly description: string;
  readonly capabilities: StoreCapabilities;
  /** Holds the credential (a shared key shows in util.inspect): never log it; log the store, which redacts. */
  readonly container: ContainerClient;
  /** '' or a prefix ending in '/'. */
  readonly prefix: string;
  private readonly ctx: AzureErrorContext;
  private readonly accessTiers: Partial<Record<ObjectKind, AzureAccessTier>>;
  private readonly rehydrateTier: AzureRehydrateTier;
  private readonly immutability: AzureImmutability | undefined;
  readonly lockDays: number | undefined;
  private readonly clock: Clock;
  private readonly maxSinglePutBytes: number;
  private readonly blockSize: number;
  private readonly listPageSize: number;

  constructor(options: AzureBlobStoreOptions) {
    this.container = options.containerClient ?? buildContainerClient(options);
    this.prefix = normalizePrefix(options.prefix ?? '');
    const account = this.container.accountName || options.account || 'unknown-account';
    const container = this.container.containerName;
    this.description = `azblob://${account}/${container}${this.prefix === '' ? '' : `/${this.prefix.slice(0, -1)}`}`;
    this.ctx = { account, container, description: this.description };
    this.accessTiers = checkAccessTiers(options.accessTiers);
    this.rehydrateTier = options.rehydrateTier ?? 'Hot';
    this.immutability = options.immutability;
    this.lockDays = options.immutability?.days;
    if (this.immutability !== undefined) validateImmutability(this.immutability);
    this.capabilities = { conditionalWrites: false, objectLock: this.immutability !== undefined, storageTiers: true };
    this.clock = options.clock ?? systemClock;
    this.maxSinglePutBytes = positiveInt(options.maxSinglePutBytes ?? 256 * MiB, 'maxSinglePutBytes');
    this.blockSize = positiveInt(options.blockSize ?? 64 * MiB, 'blockSize');
    this.listPageSize = positiveInt(options.listPageSize ?? 5000, 'listPageSize');
  }

  async put(key: string, data: Uint8Array, options: PutOptions = {}): Promise<void> {
    const { signal } = options;
    const client = this.container.getBlockBlobClient(this.blobName(key));
    throwIfAborted(signal);
    const common = { abortSignal: signal, tier: options.kind === undefined ? undefined : this.accessTiers[options.kind], immutabilityPolicy: options.kind === 'marker' ? undefined : this.immutabilityPolicy() };
    try {
      if (data.byteLength <= this.maxSinglePutBytes) {
        // One Put Blob: atomic, and the service rejects the body if it does not match the MD5.
        await client.upload(data, data.byteLength, { ...common, transactionalContentMD5: md5(data), contentChecksumAlgorithm: 'Customized' });
      } else {
        await this.putBlocks(client, data, common);
      }
    } catch (err) {
      throw this.translate(err, 'put', key, signal);
    }
  }

  async get(key: string, options: GetOptions = {}): Promise<Buffer> {
    const { signal, range } = options;
    const client = this.container.getBlobClient(this.blobName(key));
    if (range !== undefined) checkRangeArgs(key, range.offset, range.length);
    throwIfAborted(signal);
    try {
      if (range !== undefined && range.length === 0) {
        // The service has no empty range ("bytes=n-" means "to the end"): check bounds with a stat.
        const { size } = await this.stat(key, { signal });
        if (range.offset > size) throw rangePastEnd(key, range.offset, range.length, size);
        return Buffer.alloc(0);
      }
      const res = await client.download(range?.offset ?? 0, range?.length, { abortSignal: signal, maxRetryRequests: 3 });
      const expected = res.contentLength ?? 0;
      const body = await readBody(res.readableStreamBody, expected, key);
      if (range === undefined) return body;
      if (body.length !== range.length) {
        const size = totalFromContentRange(res.contentRange);
        if (size !== undefined && range.offset + range.length > size) throw rangePastEnd(key, range.offset, range.length, size);
        throw new StoreError(`get ${key} in ${this.description} returned ${body.length} bytes for a ${range.length}-byte range`, key, { retryable: true });
      }
      return body;
    } catch (err) {
      if (range !== undefined && azureStatusCode(err) === 416) {
        // Offset at or past the end; name the object's size (a missing object surfaces here as not found).
        const { size } = await this.stat(key, { signal });
        throw rangePastEnd(key, range.offset, range.length, size, err);
      }
      throw this.translate(err, 'get', key, signal);
    }
  }

  async stat(key: string, options: IoOptions = {}): Promise<ObjectInfo> {
    const { signal } = options;
    const client = this.container.getBlobClient(this.blobName(key));
    throwIfAborted(signal);
    try {
      const props = await client.getProperties({ abortSignal: signal });
      return { key, size: props.contentLength ?? 0, lastModified: props.lastModified?.getTime() ?? 0 };
    } catch (err) {
      throw this.translate(err, 'stat', key, signal);
    }
  }

  /** The blob's immutability expiry (Get Blob Properties), null when it has none. */
  async retention(key: string, options: IoOptions = {}): Promise<ObjectRetention> {
    const client = this.container.getBlobClient(this.blobName(key));
    throwIfAborted(options.signal);
    try {
      const props = await client.getProperties({ abortSignal: options.signal });
      return { retainUntil: props.immutabilityPolicyExpiresOn?.getTime() ?? null };
    } catch (err) {
      throw this.translate(err, 'stat', key, options.signal);
    }
  }

  /** Set Blob Immutability Policy with the configured mode; a Locked policy can only be extended. */
  async extendRetention(key: string, until: number, options: IoOptions = {}): Promise<void> {
    if (this.immutability === undefined) throw new UnsupportedOperationError(`extend the lock of ${key}: ${this.description} has no immutability configured`);
    const client = this.container.getBlobClient(this.blobName(key));
    throwIfAborted(options.signal);
    try {
      await client.setImmutabilityPolicy({ expiriesOn: new Date(until), policyMode: this.immutability.mode }, { abortSignal: options.signal });
    } catch (err) {
      throw this.translate(err, 'extendRetention', key, options.signal);
    }
  }

  /** The blob's access tier and rehydration state (Get Blob Properties). */
  async tierOf(key: string, options: IoOptions = {}): Promise<TierState> {
    const client = this.container.getBlobClient(this.blobName(key));
    throwIfAborted(options.signal);
    try {
      return tierFromProperties(await client.getProperties({ abortSignal: options.signal }));
    } catch (err) {
      throw this.translate(err, 'stat', key, options.signal);
    }
  }

  /** Set Blob Tier to the rehydrate tier, once: a blob not archived or already rehydrating is left alone. `days` does not apply. */
  async requestRehydrate(key: string, options: RehydrateOptions): Promise<void> {
    const state = await this.tierOf(key, options);
    if (!state.archived || state.rehydrating) return;
    try {
      await setRehydrateTier(this.container.getBlobClient(this.blobName(key)), this.rehydrateTier, options);
    } catch (err) {
      throw this.translate(err, 'requestRehydrate', key, options.signal);
    }
  }

  async *list(prefix: string, options: IoOptions = {}): AsyncIterable<ObjectInfo> {
    const { signal } = options;
    throwIfAborted(signal);
    const pages = this.container.listBlobsFlat({ prefix: this.prefix + prefix, abortSignal: signal }).byPage({ maxPageSize: this.listPageSize });
    for (;;) {
      let page;
      try {
        page = await pages.next();
      } catch (err) {
        throw this.translate(err, 'list', prefix, signal);
      }
      if (page.done) return;
      for (const item of page.value.segment.blobItems) {
        const key = item.name.slice(this.prefix.length);
        // Blobs not written through this port (other tools, odd names) are not objects.
        if (!item.name.startsWith(this.prefix) || !isValidKey(key)) continue;
        yield { key, size: item.properties.contentLength ?? 0, lastModified: item.properties.lastModified.getTime() };
      }
      throwIfAborted(signal);
    }
  }

  async delete(key: string, options: IoOptions = {}): Promise<void> {
    const { signal } = options;
    const client = this.container.getBlobClient(this.blobName(key));
    throwIfAborted(signal);
    try {
      await client.deleteIfExists({ abortSignal: signal, deleteSnapshots: 'include' });
    } catch (err) {
      throw this.translate(err, 'delete', key, signal);
    }
  }

  // Logs and JSON show the location only: the client holds the credential.
  toJSON(): { description: string; capabilities: StoreCapabilities } {
    return { description: this.description, capabilities: this.capabilities };
  }
  [inspect.custom](): string {
    return `AzureBlobObjectStore <${this.description}>`;
  }

  /** Blocks are staged under names unique to this put, so a concurrent writer of the key cannot mix its blocks in. */
  private async putBlocks(client: BlockBlobClient, data: Uint8Array, common: { abortSignal?: AbortSignal; tier?: AzureAccessTier; immutabilityPolicy?: BlobImmutabilityPolicy }): Promise<void> {
    const tag = randomBytes(6).toString('hex');
    const count = Math.ceil(data.byteLength / this.blockSize);
    const ids = Array.from({ length: count }, (_, i) => Buffer.from(`${tag}-${String(i).padStart(6, '0')}`).toString('base64'));
    await mapLimit(ids, 4, async (id, i) => {
      const block = data.subarray(i * this.blockSize, Math.min(data.byteLength, (i + 1) * this.blockSize));
      await client.stageBlock(id, block, block.byteLength, { abortSignal: common.abortSignal, transactionalContentMD5: md5(block), contentChecksumAlgorithm: 'Customized' });
    });
    // The blob appears (whole) only at this commit.
    await client.commitBlockList(ids, common);
  }

  private immutabilityPolicy(): BlobImmutabilityPolicy | undefined {
    if (this.immutability === undefined) return undefined;
    return { expiriesOn: new Date(this.clock.now() + this.immutability.days * DAY_MS), policyMode: this.immutability.mode };
  }

  private blobName(key: string): string {
    assertValidKey(key);
    return this.prefix + key;
  }

  private translate(err: unknown, op: string, key: string, signal: AbortSignal | undefined): Error {
    return azureErrorToStoreError(err, op, key, this.ctx, signal);
  }
}

/** Builds a store from an `azblob://account/container/prefix?...` URL; see parseAzureStoreUrl. */
export function azureStoreFromUrl(url: URL, env: AzureEnv = process.env): AzureBlobObjectStore {
  return new AzureBlobObjectStore(parseAzureStoreUrl(url, env));
}

function buildContainerClient(options: AzureBlobStoreOptions): ContainerClient {
  const { account, container } = options;
  if (!account || !container) throw new InvalidArgumentError('an Azure Blob store needs either a containerClient or both account and container');
  const endpoint = (options.endpoint ?? `https://${account}.blob.core.windows.net`).replace(/\/+$/, '');
  const credential = options.credential ?? new DefaultAzureCredential();
  const clientOptions: StoragePipelineOptions = { retryOptions: { maxTries: 1 }, ...options.clientOptions };
  return new ContainerClient(`${endpoint}/${encodeURIComponent(container)}`, credential, clientOptions);
}
