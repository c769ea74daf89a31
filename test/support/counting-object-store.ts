// An ObjectStore decorator that counts calls per operation and object kind, for request-cost diagnostics.
import type { GetOptions, IoOptions, ObjectInfo, ObjectStore, PutOptions, StoreCapabilities } from '../../core/store/object-store.ts';

// Kinds by the core's key layout, for calls that carry no kind.
const KIND_BY_PREFIX: Record<string, string> = { config: 'config', keys: 'key', packs: 'pack', index: 'index', points: 'manifest', markers: 'marker' };

export class CountingObjectStore implements ObjectStore {
  readonly inner: ObjectStore;
  readonly counts = new Map<string, number>();

  constructor(inner: ObjectStore) {
    this.inner = inner;
  }
  get description(): string {
    return this.inner.description;
  }
  get capabilities(): StoreCapabilities {
    return this.inner.capabilities;
  }

  put(key: string, data: Uint8Array, options?: PutOptions): Promise<void> {
    this.count('put', options?.kind ?? kindOf(key));
    return this.inner.put(key, data, options);
  }
  get(key: string, options?: GetOptions): Promise<Buffer> {
    this.count(options?.range ? 'get-range' : 'get', kindOf(key));
    return this.inner.get(key, options);
  }
  stat(key: string, options?: IoOptions): Promise<ObjectInfo> {
    this.count('stat', kindOf(key));
    return this.inner.stat(key, options);
  }
  list(prefix: string, options?: IoOptions): AsyncIterable<ObjectInfo> {
    this.count('list', prefix === '' ? 'all' : kindOf(prefix));
    return this.inner.list(prefix, options);
  }
  delete(key: string, options?: IoOptions): Promise<void> {
    this.count('delete', kindOf(key));
    return this.inner.delete(key, options);
  }

  /** "put pack=12, get index=1, ... (total 31)", sorted by operation and kind. */
  summary(): string {
    const entries = [...this.counts].sort(([a], [b]) => a.localeCompare(b));
    const total = entries.reduce((sum, [, n]) => sum + n, 0);
    return `${entries.map(([k, n]) => `${k}=${n}`).join(', ')} (total ${total})`;
  }

  private count(op: string, kind: string): void {
    const name = `${op} ${kind}`;
    this.counts.set(name, (this.counts.get(name) ?? 0) + 1);
  }
}

function kindOf(key: string): string {
  return KIND_BY_PREFIX[key.split('/')[0]] ?? 'other';
}
