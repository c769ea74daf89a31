// The object-store port: the few operations the repository needs from S3, Azure Blob or a disk.
//
// Consistency the core relies on (every adapter must give it; the contract suite checks it):
// - put(key) is atomic: a reader sees either no object or the whole object, never a part.
// - After put(key) resolves, get/stat/list from the same process see the object
//   (read-after-write; S3 and Azure Blob give this since 2020).
// - Keys are written once by the core (unique names); the core never needs a conditional
//   write or a lock. An adapter may overwrite on put.
// - list(prefix) returns every object whose key starts with prefix, each once, in any order.
// - delete(key) of a missing key succeeds (idempotent).
// - lastModified comes from the store, not from the writer's clock.
// - Durability: a put of any kind but 'pack' resolves only once it and every earlier put are
//   durable. A 'pack' put may become durable later, at the next such put or flush(): packs are
//   never referenced before an index (a non-pack put) names them, so commits stay crash-safe while
//   a local disk need not wait for each pack.
import { CloudkeepError, type CloudkeepErrorOptions } from '../errors.ts';

export interface ObjectInfo {
  key: string;
  size: number;
  /** Milliseconds since the epoch, as the store recorded it. */
  lastModified: number;
}

export interface ByteRange {
  offset: number;
  length: number;
}

export interface IoOptions {
  signal?: AbortSignal;
}

export interface GetOptions extends IoOptions {
  /** Read only these bytes. A range past the end of the object is an error. */
  range?: ByteRange;
  /**
   * With `range`: a buffer the adapter may read into (when it is at least range.length long) instead
   * of allocating one; the result is then a view of it. Adapters that cannot may ignore it.
   */
  into?: Buffer;
}

export interface PutOptions extends IoOptions {
  /** Object kind, for adapters that place kinds in different storage tiers. */
  kind?: ObjectKind;
  /** Which backup chain the object belongs to, for stores that place data (scale-out extents). */
  placement?: PlacementHint;
}

/** A pack's chain and role: a scale-out repository keeps a chain together or splits fulls and incrementals. */
export interface PlacementHint {
  /** The chain: provider, account and resource id of the restore point being written. */
  group: string;
  role: 'full' | 'incremental';
}

/**
 * 'tree-pack' is a pack of block-map and stream-map chunks only: kept in the store's default
 * (hot) class, so incrementals, prune and verify never meet an archived tree.
 */
export type ObjectKind = 'config' | 'key' | 'pack' | 'tree-pack' | 'index' | 'manifest' | 'marker';

/** Optional capabilities, declared as data. An unsupported call fails with UnsupportedOperationError. */
export interface StoreCapabilities {
  /** put can refuse to overwrite (If-None-Match). The core never depends on it. */
  conditionalWrites: boolean;
  /** objects can carry a retain-until date that the store enforces. */
  objectLock: boolean;
  /** objects can be moved between storage tiers. */
  storageTiers: boolean;
}

export interface ObjectReader {
  get(key: string, options?: GetOptions): Promise<Buffer>;
  /** Metadata of one object; throws ObjectNotFoundError when absent. */
  stat(key: string, options?: IoOptions): Promise<ObjectInfo>;
}

export interface ObjectLister {
  list(prefix: string, options?: IoOptions): AsyncIterable<ObjectInfo>;
}

export interface ObjectWriter {
  put(key: string, data: Uint8Array, options?: PutOptions): Promise<void>;
}

export interface ObjectDeleter {
  delete(key: string, options?: IoOptions): Promise<void>;
}

/**
 * An object written in pieces, for stores that can take one without holding it whole: nothing is
 * visible under its key until commit, which is atomic and durable as a put of the same kind is.
 */
export interface ObjectUpload {
  /** Appends bytes at the end; `data` must stay unchanged until this resolves. */
  append(data: Uint8Array): Promise<void>;
  /** Appends the last bytes and puts the object in place. */
  commit(last: Uint8Array): Promise<void>;
  /** Leaves no object (and no temporary one). */
  abort(): Promise<void>;
}

export interface ObjectStore extends ObjectReader, ObjectLister, ObjectWriter, ObjectDeleter {
  /** Makes every earlier put durable (stores that defer pack durability implement it). */
  flush?(options?: IoOptions): Promise<void>;
  /** Starts an object written in pieces; null (or no such method) when the store cannot: the caller puts instead. */
  beginUpload?(key: string, options?: PutOptions): Promise<ObjectUpload | null>;
  /** A short description for messages, e.g. "file:///var/backups/repo". Never holds secrets. */
  readonly description: string;
  readonly capabilities: StoreCapabilities;
}

/** Where an object's retain-until date stands; null when the object carries none. */
export interface ObjectRetention {
  /** Milliseconds since the epoch; the store refuses delete and overwrite before it. */
  retainUntil: number | null;
}

/**
 * Optional role of stores with objectLock: read and extend one object's retain-until date.
 * Extending never shortens (stores refuse that in compliance mode). Stores without locks do not
 * implement it; a locked repository then fails with UnsupportedOperationError (requireObjectLocker).
 */
export interface ObjectLocker {
  /** The lock period new objects get, in days, when the store is configured to lock; prune extends by it. */
  readonly lockDays?: number;
  /** Throws ObjectNotFoundError when absent. */
  retention(key: string, options?: IoOptions): Promise<ObjectRetention>;
  /** Sets the retain-until date to `until` (ms), in the store's configured lock mode. */
  extendRetention(key: string, until: number, options?: IoOptions): Promise<void>;
}

export function isObjectLocker(store: object): store is ObjectLocker {
  const s = store as Partial<ObjectLocker>;
  return typeof s.retention === 'function' && typeof s.extendRetention === 'function';
}

/** True for stores configured to lock objects (decorators forward the ObjectLocker methods whatever the inner store can do). */
export function locksObjects(store: ObjectStore): store is ObjectStore & ObjectLocker {
  return store.capabilities.objectLock === true && isObjectLocker(store);
}

/** The store as an ObjectLocker, or UnsupportedOperationError naming what needed it. */
export function requireObjectLocker(store: ObjectStore, why: string): ObjectStore & ObjectLocker {
  if (!isObjectLocker(store)) throw new UnsupportedOperationError(`${why}: ${store.description} cannot read or extend object locks`);
  return store;
}

/** Where one object sits among the store's storage tiers. */
export interface TierState {
  /** The store's own name of the tier or class, e.g. STANDARD, GLACIER, Hot, Archive. */
  tier: string;
  /** A get fails with ObjectArchivedError until the object is rehydrated. */
  archived: boolean;
  /** A rehydration is under way (the object is still archived). */
  rehydrating: boolean;
  /** Days the store charges for at least, even when the object is deleted or moved earlier; 0 for none. */
  minimumDurationDays: number;
}

export type RehydratePriority = 'standard' | 'bulk' | 'expedited';

export interface RehydrateOptions extends IoOptions {
  /** How long a temporary readable copy stays (S3); stores that move the object itself ignore it. */
  days: number;
  priority: RehydratePriority;
}

/**
 * Optional role of stores with storageTiers: read an object's tier and ask for an archived one to be
 * made readable (rehydrated). Rehydration takes hours; callers poll tierOf until archived is false.
 */
export interface ObjectTiering {
  /** Throws ObjectNotFoundError when absent. */
  tierOf(key: string, options?: IoOptions): Promise<TierState>;
  /** Starts a rehydration; succeeds when one is already under way or the object is not archived. */
  requestRehydrate(key: string, options: RehydrateOptions): Promise<void>;
}

/** True for stores that implement ObjectTiering and declare storageTiers (wrappers pass the flag through). */
export function isObjectTiering(store: object): store is ObjectTiering {
  const s = store as Partial<ObjectTiering> & { capabilities?: Partial<StoreCapabilities> };
  return typeof s.tierOf === 'function' && typeof s.requestRehydrate === 'function' && s.capabilities?.storageTiers !== false;
}

export class ObjectNotFoundError extends CloudkeepError {
  readonly key: string;
  constructor(key: string, options: CloudkeepErrorOptions = {}) {
    super(`object not found: ${key}`, { ...options, retryable: false });
    this.name = 'ObjectNotFoundError';
    this.key = key;
  }
}

/** A get of an archived object that has not been rehydrated: no retry helps, a rehydration does. */
export class ObjectArchivedError extends CloudkeepError {
  readonly key: string;
  constructor(key: string, where: string, options: CloudkeepErrorOptions = {}) {
    super(`${key} in ${where} is archived and must be rehydrated before it can be read`, { ...options, retryable: false });
    this.name = 'ObjectArchivedError';
    this.key = key;
  }
}

/** The store could not be reached or refused the call; `retryable` says if trying again may help. */
export class StoreError extends CloudkeepError {
  readonly key: string | undefined;
  constructor(message: string, key?: string, options: CloudkeepErrorOptions = {}) {
    super(message, options);
    this.name = 'StoreError';
    this.key = key;
  }
}

export class UnsupportedOperationError extends CloudkeepError {
  constructor(message: string, options: CloudkeepErrorOptions = {}) {
    super(message, options);
    this.name = 'UnsupportedOperationError';
  }
}

/** Optional role: deletes many keys in few requests (S3 DeleteObjects takes 1,000 a call). Missing keys are fine. */
export interface BatchDeleter {
  deleteMany(keys: readonly string[], options?: IoOptions): Promise<void>;
}

export function isBatchDeleter(store: object): store is BatchDeleter {
  return typeof (store as Partial<BatchDeleter>).deleteMany === 'function';
}

/** Deletes keys with the store's batch call when it has one, else one by one. */
export async function deleteAll(store: ObjectStore, keys: readonly string[], options: IoOptions = {}): Promise<void> {
  if (keys.length === 0) return;
  if (isBatchDeleter(store)) return store.deleteMany(keys, options);
  for (const key of keys) await store.delete(key, options);
}

/** Collects a listing into an array. */
export async function listAll(store: ObjectLister, prefix: string, options?: IoOptions): Promise<ObjectInfo[]> {
  const out: ObjectInfo[] = [];
  for await (const info of store.list(prefix, options)) out.push(info);
  return out;
}

/** True when the object exists. */
export async function exists(store: ObjectReader, key: string, options?: IoOptions): Promise<boolean> {
  try {
    await store.stat(key, options);
    return true;
  } catch (err) {
    if (err instanceof ObjectNotFoundError) return false;
    throw err;
  }
}

/** Checks a key is one the core may write: relative, '/'-separated, no empty or dot segments. */
export function assertValidKey(key: string): void {
  if (key.length === 0 || key.length > 1024) throw new StoreError(`invalid object key ${JSON.stringify(key)}: expected 1 to 1024 characters`, key);
  for (const part of key.split('/')) {
    if (part === '' || part === '.' || part === '..' || !/^[A-Za-z0-9._-]+$/.test(part)) {
      throw new StoreError(`invalid object key ${JSON.stringify(key)}: expected '/'-separated segments of [A-Za-z0-9._-]`, key);
    }
  }
}
