// Helpers for crash, corruption and prune tests: backups via runBackup, exact restores, store snapshots, a pausing store.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { ManualClock } from '../../core/clock.ts';
import { runBackup } from '../../core/engine/backup-session.ts';
import { InlineBlockProcessor } from '../../core/engine/block-processor.ts';
import { restoreDisk } from '../../core/engine/restore.ts';
import { ChunkIndex } from '../../core/repo/index-file.ts';
import { PACKS_PREFIX, packIdFromKey, SESSIONS_PREFIX } from '../../core/repo/layout.ts';
import type { Manifest, ResourceRef } from '../../core/repo/manifest.ts';
import { Repository } from '../../core/repo/repository.ts';
import type { SnapshotRef } from '../../core/snapshot/snapshot-source.ts';
import { collectReferences } from '../../core/maintenance/referenced.ts';
import { verifyRepository, type VerifyReport } from '../../core/maintenance/verify.ts';
import { listAll, type GetOptions, type IoOptions, type ObjectInfo, type ObjectStore, type PutOptions } from '../../core/store/object-store.ts';
import { MemoryObjectStore } from '../../providers/memory/memory-object-store.ts';
import { BufferSink, BufferSnapshotSource } from './buffer-volume.ts';
import { prng } from './images.ts';
import { makeRepo, passphrase } from './repo-fixture.ts';

export const BS = 64 * 1024;
export const MARGIN = 60 * 60 * 1000;
export const MINUTE = 60_000;

export function resource(id: string): ResourceRef {
  return { id, kind: 'volume', provider: 'test' };
}

export function processorFor(repo: Repository): InlineBlockProcessor {
  const p = repo.params;
  return new InlineBlockProcessor({ chunking: p.chunking, compressionLevel: p.compression.level, chunkIdKey: repo.master.chunkIdKey, treeIdKey: repo.master.treeIdKey });
}

export type Ctx = Awaited<ReturnType<typeof newCtx>>;

/** A small repository; `wrap` decorates the memory store (e.g. with FaultyObjectStore). */
export async function newCtx<S extends ObjectStore = MemoryObjectStore>(wrap?: (inner: MemoryObjectStore) => S) {
  const clock = new ManualClock();
  const memory = new MemoryObjectStore({ clock });
  const store = (wrap ? wrap(memory) : memory) as S;
  const { repo, processor } = await makeRepo({ store, clock });
  return { repo, store, memory, clock, processor, source: new BufferSnapshotSource(BS) };
}

export interface Backed {
  manifest: Manifest;
  snap: SnapshotRef;
  image: Buffer;
}

/** Backs up `image` through runBackup; with `parent` and `changed`, as an incremental with changed blocks. */
export async function backup(
  ctx: { repo: Repository; processor: InlineBlockProcessor; source: BufferSnapshotSource },
  res: string,
  image: Buffer,
  options: { parent?: Backed; changed?: number[]; repo?: Repository; leaseRefreshMs?: number; indexPartEntries?: number } = {},
): Promise<Backed> {
  const { parent, changed } = options;
  const snap = ctx.source.snapshot(res, image, parent?.snap.snapshotId ?? null, changed ?? null);
  const manifest = await runBackup({
    repo: options.repo ?? ctx.repo,
    source: ctx.source,
    processor: ctx.processor,
    leaseRefreshMs: options.leaseRefreshMs,
    indexPartEntries: options.indexPartEntries,
    request: { resource: resource(res), parent: parent?.manifest ?? null, disks: [{ name: 'root', snapshot: snap, baseSnapshot: parent?.snap ?? null }] },
  });
  return { manifest, snap, image };
}

/** A copy of `image` with whole blocks replaced by fresh random bytes; returns it and the block numbers. */
export function replaceBlocks(image: Buffer, blocks: number[], seed: string): { image: Buffer; changed: number[] } {
  const out = Buffer.from(image);
  for (const b of blocks) prng(`${seed}/${b}`, Math.min(BS, out.length - b * BS)).copy(out, b * BS);
  return { image: out, changed: [...blocks].sort((a, b) => a - b) };
}

export async function restoreBytes(repo: Repository, id: string, processor = processorFor(repo)): Promise<Buffer> {
  const index = await repo.loadIndex();
  const manifest = await repo.readManifest(id);
  const sink = new BufferSink();
  await restoreDisk({ repo, index, processor }, manifest, 'root', sink);
  return sink.data;
}

export async function reopen(store: ObjectStore, clock: ManualClock): Promise<Repository> {
  return Repository.open(store, [passphrase()], clock);
}

/** Asserts the repository lists exactly `expected` (point id to image) and each restores byte-exactly. */
export async function assertPoints(repo: Repository, expected: Map<string, Buffer>, what = ''): Promise<void> {
  assert.deepEqual(await repo.listPointIds(), [...expected.keys()].sort(), `${what}: restore points`);
  for (const [id, image] of expected) {
    const got = await restoreBytes(repo, id);
    assert.ok(got.equals(image), `${what}: restore point ${id} restored different bytes`);
  }
}

export async function assertVerifyClean(repo: Repository, what = ''): Promise<VerifyReport> {
  const report = await verifyRepository(repo, processorFor(repo), { full: true });
  assert.deepEqual(report.problems, [], `${what}: verify found problems`);
  assert.equal(report.ok, true);
  return report;
}

export async function packIds(store: ObjectStore): Promise<Set<string>> {
  return new Set((await listAll(store, PACKS_PREFIX)).map((i) => packIdFromKey(i.key)));
}

/** Packs holding at least one chunk (any copy) that a restore point references. */
export async function referencedPacks(repo: Repository): Promise<Set<string>> {
  const index = await repo.loadIndex();
  const byChunk = new Map<string, Set<string>>();
  for (const key of index.objects.keys()) {
    for (const c of await repo.readIndexObject(key)) {
      const k = ChunkIndex.keyOf(c.id);
      byChunk.set(k, (byChunk.get(k) ?? new Set()).add(c.pack.id));
    }
  }
  const refs = await collectReferences(repo, index, await repo.listManifests());
  const out = new Set<string>();
  for (const k of refs.chunks.keys()) for (const p of byChunk.get(k) ?? []) out.add(p);
  return out;
}

/** Every object's key and content hash: to prove an operation changed nothing. */
export async function dumpStore(store: ObjectStore): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const info of await listAll(store, '')) out.set(info.key, createHash('sha256').update(await store.get(info.key)).digest('hex'));
  return out;
}

export const tick = (ms = 25) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export type Op = 'get' | 'stat' | 'list' | 'put' | 'delete';

/** A pause point: `reached` resolves when a matching call arrives; it waits until `open()`. */
export class Gate {
  readonly reached: Promise<void>;
  readonly opened: Promise<void>;
  #reach!: () => void;
  #open!: () => void;
  hit = false;
  constructor() {
    this.reached = new Promise((r) => (this.#reach = r));
    this.opened = new Promise((r) => (this.#open = r));
  }
  arrive(): void {
    this.hit = true;
    this.#reach();
  }
  open(): void {
    this.#open();
  }
}

/** Matches the n-th (1-based) call for which `pred` holds. */
export function nth(n: number, pred: (op: Op, key: string) => boolean): (op: Op, key: string) => boolean {
  let seen = 0;
  return (op, key) => pred(op, key) && ++seen === n;
}

/** An ObjectStore decorator that holds chosen calls until the test releases them. */
export class PausingStore implements ObjectStore {
  readonly inner: ObjectStore;
  readonly #hooks: Array<{ match: (op: Op, key: string) => boolean; gate: Gate }> = [];
  readonly calls: Array<[Op, string]> = [];
  readonly #jitter: Buffer | undefined;
  #n = 0;
  /** With `jitter` (a seed), about half the calls first yield to the event loop, so concurrent work interleaves. */
  constructor(inner: ObjectStore, options: { jitter?: string } = {}) {
    this.inner = inner;
    this.#jitter = options.jitter === undefined ? undefined : prng(options.jitter, 4096);
  }
  get description(): string {
    return this.inner.description;
  }
  get capabilities() {
    return this.inner.capabilities;
  }
  /** The first later call that `match` accepts waits, before it runs, until the gate opens. */
  pauseBefore(match: (op: Op, key: string) => boolean): Gate {
    const gate = new Gate();
    this.#hooks.push({ match, gate });
    return gate;
  }
  async #check(op: Op, key: string): Promise<void> {
    this.calls.push([op, key]);
    if (this.#jitter && this.#jitter[this.#n++ % this.#jitter.length] < 128) await new Promise((r) => setImmediate(r));
    for (const hook of [...this.#hooks]) {
      if (!hook.match(op, key)) continue;
      this.#hooks.splice(this.#hooks.indexOf(hook), 1);
      hook.gate.arrive();
      await hook.gate.opened;
    }
  }
  async get(key: string, options?: GetOptions): Promise<Buffer> {
    await this.#check('get', key);
    return this.inner.get(key, options);
  }
  async stat(key: string, options?: IoOptions): Promise<ObjectInfo> {
    await this.#check('stat', key);
    return this.inner.stat(key, options);
  }
  async *list(prefix: string, options?: IoOptions): AsyncIterable<ObjectInfo> {
    await this.#check('list', prefix);
    yield* this.inner.list(prefix, options);
  }
  async put(key: string, data: Uint8Array, options?: PutOptions): Promise<void> {
    await this.#check('put', key);
    return this.inner.put(key, data, options);
  }
  async delete(key: string, options?: IoOptions): Promise<void> {
    await this.#check('delete', key);
    return this.inner.delete(key, options);
  }
}

/**
 * Stands in for the refresh timers of running backups while simulated time jumps: re-puts every
 * lease under its own name (a real refresh writes a new name, which the backup would then not release).
 */
export async function refreshLeases(store: ObjectStore): Promise<void> {
  for (const info of await listAll(store, SESSIONS_PREFIX)) {
    const data = await store.get(info.key).catch(() => null);
    if (data) await store.put(info.key, data, { kind: 'marker' });
  }
}

/** The same repository (same master key) seen through another store, e.g. a PausingStore. */
export function viaStore(repo: Repository, store: ObjectStore): Repository {
  return new Repository(store, repo.config, repo.master, repo.clock);
}
