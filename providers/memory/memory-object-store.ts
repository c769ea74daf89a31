// An in-process ObjectStore held in a Map: the reference adapter for tests and demos.
import { systemClock, type Clock } from '../../core/clock.ts';
import { throwIfAborted } from '../../core/errors.ts';
import {
  assertValidKey,
  ObjectNotFoundError,
  StoreError,
  type GetOptions,
  type IoOptions,
  type ObjectInfo,
  type ObjectStore,
  type PutOptions,
  type StoreCapabilities,
} from '../../core/store/object-store.ts';

export interface MemoryObjectStoreOptions {
  /** Stamps lastModified; defaults to the system clock. */
  clock?: Clock;
}

interface StoredObject {
  data: Buffer;
  lastModified: number;
}

export class MemoryObjectStore implements ObjectStore {
  readonly description = 'memory://';
  readonly capabilities: StoreCapabilities = { conditionalWrites: false, objectLock: false, storageTiers: false };
  private readonly objects = new Map<string, StoredObject>();
  private readonly clock: Clock;

  constructor(options: MemoryObjectStoreOptions = {}) {
    this.clock = options.clock ?? systemClock;
  }

  async put(key: string, data: Uint8Array, options: PutOptions = {}): Promise<void> {
    throwIfAborted(options.signal);
    assertValidKey(key);
    // Copy so a caller reusing its buffer cannot change what was "written".
    this.objects.set(key, { data: Buffer.from(data), lastModified: this.clock.now() });
  }

  async get(key: string, options: GetOptions = {}): Promise<Buffer> {
    const object = this.lookup(key, options);
    const { range } = options;
    if (range === undefined) return Buffer.from(object.data);
    checkRange(key, range.offset, range.length, object.data.length);
    // Buffer.from(subarray) copies, so the caller never holds a view of stored bytes.
    return Buffer.from(object.data.subarray(range.offset, range.offset + range.length));
  }

  async stat(key: string, options: IoOptions = {}): Promise<ObjectInfo> {
    const object = this.lookup(key, options);
    return { key, size: object.data.length, lastModified: object.lastModified };
  }

  async *list(prefix: string, options: IoOptions = {}): AsyncIterable<ObjectInfo> {
    throwIfAborted(options.signal);
    // Snapshot first: callers may put or delete while iterating, and each key must appear once.
    const matches: ObjectInfo[] = [];
    for (const [key, object] of this.objects) {
      if (key.startsWith(prefix)) matches.push({ key, size: object.data.length, lastModified: object.lastModified });
    }
    for (const info of matches) {
      throwIfAborted(options.signal);
      yield info;
    }
  }

  async delete(key: string, options: IoOptions = {}): Promise<void> {
    throwIfAborted(options.signal);
    assertValidKey(key);
    this.objects.delete(key);
  }

  private lookup(key: string, options: IoOptions): StoredObject {
    throwIfAborted(options.signal);
    assertValidKey(key);
    const object = this.objects.get(key);
    if (object === undefined) throw new ObjectNotFoundError(key);
    return object;
  }
}

function checkRange(key: string, offset: number, length: number, size: number): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
    throw new StoreError(`invalid range for ${key}: offset ${offset}, length ${length}`, key);
  }
  if (offset + length > size) {
    throw new StoreError(`range past end of ${key}: offset ${offset} + length ${length} > size ${size}`, key);
  }
}
