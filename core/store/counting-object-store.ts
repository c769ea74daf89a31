// A metrics decorator: requests and bytes per operation, object kind and range, with snapshots per phase (benchmarks, diagnostics).
import type { GetOptions, IoOptions, ObjectInfo, ObjectStore, PutOptions, StoreCapabilities } from './object-store.ts';

/** Operations as billed: put, get (whole object), get-range, stat (HEAD / Get Properties), list (one per page call), delete. */
export type CountedOp = 'put' | 'get' | 'get-range' | 'stat' | 'list' | 'delete';

export interface OpTally {
  requests: number;
  bytes: number;
}

/** Tallies by `op` and by `op kind` (e.g. "get-range pack"). */
export type Tally = Record<string, OpTally>;

const KIND_BY_PREFIX: Record<string, string> = { config: 'config', keys: 'key', packs: 'pack', index: 'index', points: 'manifest', markers: 'marker', sessions: 'session' };

function kindOf(key: string): string {
  return KIND_BY_PREFIX[key.split('/')[0]] ?? 'other';
}

export class CountingObjectStore implements ObjectStore {
  readonly inner: ObjectStore;
  #tally: Tally = {};

  constructor(inner: ObjectStore) {
    this.inner = inner;
  }
  get description(): string {
    return this.inner.description;
  }
  get capabilities(): StoreCapabilities {
    return this.inner.capabilities;
  }

  async put(key: string, data: Uint8Array, options?: PutOptions): Promise<void> {
    this.#add('put', options?.kind ?? kindOf(key), data.byteLength);
    await this.inner.put(key, data, options);
  }
  async get(key: string, options?: GetOptions): Promise<Buffer> {
    const op: CountedOp = options?.range ? 'get-range' : 'get';
    const kind = kindOf(key);
    this.#add(op, kind, 0);
    const data = await this.inner.get(key, options);
    this.#bytes(op, kind, data.length);
    if (this.#ranges) {
      const list = this.#ranges.get(key) ?? [];
      list.push(options?.range ? [options.range.offset, data.length] : [0, data.length]);
      this.#ranges.set(key, list);
    }
    return data;
  }
  stat(key: string, options?: IoOptions): Promise<ObjectInfo> {
    this.#add('stat', kindOf(key), 0);
    return this.inner.stat(key, options);
  }
  async *list(prefix: string, options?: IoOptions): AsyncIterable<ObjectInfo> {
    // One list call of the port; the adapters page by 1000 (S3) or 5000 (Azure), so extra pages are counted per that many items.
    const kind = prefix === '' ? 'all' : kindOf(prefix);
    this.#add('list', kind, 0);
    let n = 0;
    for await (const info of this.inner.list(prefix, options)) {
      n++;
      yield info;
    }
    this.#listed += n;
  }
  async delete(key: string, options?: IoOptions): Promise<void> {
    this.#add('delete', kindOf(key), 0);
    await this.inner.delete(key, options);
  }

  #ranges: Map<string, Array<[number, number]>> | null = null;
  /** Starts recording the byte ranges each get returns, per key. */
  trackRanges(): void {
    this.#ranges = new Map();
  }
  /** Stops recording; returns the ranges read per key since trackRanges(). */
  takeRanges(): Map<string, Array<[number, number]>> {
    const out = this.#ranges ?? new Map();
    this.#ranges = null;
    return out;
  }

  #listed = 0;
  /** Items returned by listings so far. */
  get listed(): number {
    return this.#listed;
  }

  /** A copy of the tallies so far. */
  /** "put pack=12, get index=1, ... (total 31)": requests by operation and kind. */
  summary(): string {
    const rows = Object.entries(this.snapshot()).filter(([name]) => name.includes(' ')).sort(([a], [b]) => a.localeCompare(b));
    const total = rows.reduce((a, [, t]) => a + t.requests, 0);
    return `${rows.map(([name, t]) => `${name.replace(' ', ' ')}=${t.requests}`).join(', ')} (total ${total})`;
  }

  snapshot(): Tally {
    return Object.fromEntries(Object.entries(this.#tally).map(([k, v]) => [k, { ...v }]));
  }

  #add(op: CountedOp, kind: string, bytes: number): void {
    for (const name of [op, `${op} ${kind}`]) {
      const t = (this.#tally[name] ??= { requests: 0, bytes: 0 });
      t.requests++;
      t.bytes += bytes;
    }
  }
  #bytes(op: CountedOp, kind: string, bytes: number): void {
    this.#tally[op].bytes += bytes;
    this.#tally[`${op} ${kind}`].bytes += bytes;
  }
}

/** after - before, per entry. */
export function diffTally(after: Tally, before: Tally): Tally {
  const out: Tally = {};
  for (const [k, v] of Object.entries(after)) {
    const b = before[k] ?? { requests: 0, bytes: 0 };
    if (v.requests - b.requests !== 0 || v.bytes - b.bytes !== 0) out[k] = { requests: v.requests - b.requests, bytes: v.bytes - b.bytes };
  }
  return out;
}

export function req(t: Tally, name: string): number {
  return t[name]?.requests ?? 0;
}
export function bytes(t: Tally, name: string): number {
  return t[name]?.bytes ?? 0;
}

/** Bytes covered by the union of [offset, length] ranges. */
export function unionBytes(ranges: Array<[number, number]>): number {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  let total = 0;
  let end = -1;
  for (const [offset, length] of sorted) {
    const stop = offset + length;
    if (stop <= end) continue;
    total += stop - Math.max(offset, end);
    end = stop;
  }
  return total;
}
