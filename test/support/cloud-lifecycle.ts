// One repository lifecycle on any store: init, full + incremental, restore, verify, forget, prune (mark, sweep), reopen.
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { systemClock } from '../../core/clock.ts';
import type { KeyProvider } from '../../core/crypto/key-provider.ts';
import { runBackup } from '../../core/engine/backup-session.ts';
import { InlineBlockProcessor } from '../../core/engine/block-processor.ts';
import { restoreDisk } from '../../core/engine/restore.ts';
import { WrongKeyError } from '../../core/errors.ts';
import { forgetPoints } from '../../core/maintenance/forget.ts';
import { pruneRepository } from '../../core/maintenance/prune.ts';
import { verifyRepository } from '../../core/maintenance/verify.ts';
import { PACKS_PREFIX } from '../../core/repo/layout.ts';
import type { Manifest } from '../../core/repo/manifest.ts';
import { Repository } from '../../core/repo/repository.ts';
import { listAll, type GetOptions, type IoOptions, type ObjectInfo, type ObjectStore, type PutOptions } from '../../core/store/object-store.ts';
import { BufferSink, BufferSnapshotSource } from './buffer-volume.ts';
import { mixedImage, prng } from './images.ts';
import { passphrase, SMALL_PARAMS } from './repo-fixture.ts';

export const BLOCK = 64 * 1024;
const MiB = 1024 * 1024;
/** Blocks the incremental rewrites entirely: 1 MiB of incompressible data, so whole packs of the full fall out of use. */
const REWRITTEN = Array.from({ length: 16 }, (_, i) => 16 + i);
/** Blocks the incremental only touches (5000 bytes each): their packs stay needed for the rest of the block. */
const TOUCHED = [3, 40];

/** Records which packs are read, to learn independently of prune which packs a restore really needs. */
export class RecordingStore implements ObjectStore {
  readonly packsRead = new Set<string>();
  readonly inner: ObjectStore;
  constructor(inner: ObjectStore) {
    this.inner = inner;
  }
  get description(): string {
    return this.inner.description;
  }
  get capabilities() {
    return this.inner.capabilities;
  }
  get(key: string, options?: GetOptions): Promise<Buffer> {
    if (key.startsWith(PACKS_PREFIX)) this.packsRead.add(key);
    return this.inner.get(key, options);
  }
  stat(key: string, options?: IoOptions): Promise<ObjectInfo> {
    return this.inner.stat(key, options);
  }
  list(prefix: string, options?: IoOptions): AsyncIterable<ObjectInfo> {
    return this.inner.list(prefix, options);
  }
  put(key: string, data: Uint8Array, options?: PutOptions): Promise<void> {
    return this.inner.put(key, data, options);
  }
  delete(key: string, options?: IoOptions): Promise<void> {
    return this.inner.delete(key, options);
  }
}

export function processorFor(repo: Repository): InlineBlockProcessor {
  return new InlineBlockProcessor({ chunking: repo.params.chunking, compressionLevel: repo.params.compression.level, chunkIdKey: repo.master.chunkIdKey, treeIdKey: repo.master.treeIdKey });
}

export async function restoreBytes(repo: Repository, manifest: Manifest): Promise<Buffer> {
  const sink = new BufferSink();
  await restoreDisk({ repo, index: await repo.loadIndex(), processor: processorFor(repo) }, manifest, 'root', sink);
  return sink.data;
}

export async function packKeys(store: ObjectStore): Promise<Set<string>> {
  return new Set((await listAll(store, PACKS_PREFIX)).map((i) => i.key));
}

export interface LifecycleTarget {
  store: ObjectStore;
  /** The cloud key the repository is created with. */
  initKey: KeyProvider;
  /** A second key added after init (a passphrase recovery key). */
  recoveryKey?: KeyProvider;
  /** Fresh providers: the repository is reopened with only these at the end. */
  reopenWith: () => KeyProvider[];
  /** Key provider names expected in keys/ after init (and addKey). */
  expectedKeyProviders: string[];
}

export interface LifecycleResult {
  repo: Repository;
  incremental: Manifest;
  /** The incremental's image. */
  day2: Buffer;
  /** Packs written by the full (before prune) and by the incremental. */
  fullPacks: Set<string>;
  incrementalPacks: Set<string>;
  /** Packs prune deleted. */
  deleted: Set<string>;
}

/** The whole lifecycle with assertions at each step; each lifecycle uses its own repository. */
export async function runLifecycle(target: LifecycleTarget, seed: string): Promise<LifecycleResult> {
  const { store } = target;
  const repo = await Repository.init(store, target.initKey, SMALL_PARAMS, systemClock);
  if (target.recoveryKey) await repo.addKey(target.recoveryKey);
  assert.deepEqual((await Repository.listKeys(store)).map((k) => k.provider).sort(), [...target.expectedKeyProviders].sort());
  const processor = processorFor(repo);
  const resource = { id: `vol-${seed}`, kind: 'volume' as const, provider: 'test' };

  // ~3 MiB mixed image with 1 MiB of random data where the incremental will rewrite it.
  const day1 = mixedImage(seed, 3 * MiB + 12345);
  prng(`${seed}/old-region`, REWRITTEN.length * BLOCK).copy(day1, REWRITTEN[0] * BLOCK);
  const day2 = Buffer.from(day1);
  prng(`${seed}/new-region`, REWRITTEN.length * BLOCK).copy(day2, REWRITTEN[0] * BLOCK);
  for (const b of TOUCHED) prng(`${seed}/touch/${b}`, 5000).copy(day2, b * BLOCK);
  const changed = [...TOUCHED, ...REWRITTEN].sort((a, b) => a - b);

  const source = new BufferSnapshotSource(BLOCK);
  const s1 = source.snapshot(resource.id, day1);
  const full = await runBackup({ repo, source, processor, request: { resource, disks: [{ name: 'root', snapshot: s1 }] } });
  assert.equal(full.kind, 'full');
  const fullPacks = await packKeys(store);
  assert.ok(fullPacks.size >= 4, `the full wrote ${fullPacks.size} packs`);

  const s2 = source.snapshot(resource.id, day2, s1.snapshotId, changed);
  source.reads = 0;
  const incremental = await runBackup({ repo, source, processor, request: { resource, parent: full, disks: [{ name: 'root', snapshot: s2, baseSnapshot: s1 }] } });
  assert.equal(incremental.kind, 'incremental');
  assert.equal(incremental.parent, full.id);
  assert.equal(source.reads, changed.length, 'the incremental read more than the changed blocks');
  const incrementalPacks = new Set([...(await packKeys(store))].filter((k) => !fullPacks.has(k)));
  assert.ok(incrementalPacks.size > 0);

  assert.ok((await restoreBytes(repo, full)).equals(day1), 'full restore differs');
  assert.ok((await restoreBytes(repo, incremental)).equals(day2), 'incremental restore differs');

  const before = await verifyRepository(repo, processor, { full: true });
  assert.deepEqual(before.problems, []);
  assert.equal(before.ok, true);
  assert.equal(before.points, 2);
  assert.ok(before.chunksChecked > 0 && before.bytesChecked > 0);

  const decisions = await forgetPoints(repo, { keepLast: 1 });
  assert.deepEqual(decisions.flatMap((d) => d.remove), [full.id]);
  assert.deepEqual(decisions.flatMap((d) => d.keep.map((k) => k.id)), [incremental.id]);
  assert.deepEqual(await repo.listPointIds(), [incremental.id]);

  // Which packs the retained point needs, learned by restoring it through a recording store (not from prune's logic).
  const recorder = new RecordingStore(store);
  const viaRecorder = await Repository.open(recorder, [target.initKey], systemClock);
  assert.ok((await restoreBytes(viaRecorder, incremental)).equals(day2));
  const needed = recorder.packsRead;
  const listed = await packKeys(store);
  for (const k of needed) assert.ok(listed.has(k), `restore read ${k}, which is not listed`);
  const expectDeleted = new Set([...listed].filter((k) => !needed.has(k)));
  assert.ok(expectDeleted.size > 0, 'the rewritten 1 MiB should leave whole packs of the full unused');
  assert.ok(expectDeleted.size < fullPacks.size, 'the incremental still needs most of the full');
  for (const k of expectDeleted) assert.ok(fullPacks.has(k), `${k} is unused but was not written by the full`);

  // The emulators stamp real time (S3 in whole seconds): wait past that, then a 1 ms margin.
  await delay(1100);
  const mark = await pruneRepository(repo, { safetyMarginMs: 1 });
  assert.equal(mark.deletedPacks, 0, 'the first run only marks');
  assert.equal(mark.markedPacks, expectDeleted.size);
  assert.deepEqual(await packKeys(store), listed, 'marking deleted something');
  await delay(20);
  const sweep = await pruneRepository(repo, { safetyMarginMs: 1 });
  assert.equal(sweep.deletedPacks, expectDeleted.size);
  assert.equal(sweep.revivedPacks, 0);
  assert.equal(sweep.markedPacks, 0);
  const after = await packKeys(store);
  assert.deepEqual([...after].sort(), [...needed].sort(), 'prune kept an unused pack or deleted a needed one');
  const deleted = new Set([...listed].filter((k) => !after.has(k)));
  assert.deepEqual([...deleted].sort(), [...expectDeleted].sort());

  const clean = await verifyRepository(repo, processor, { full: true });
  assert.deepEqual(clean.problems, []);
  assert.equal(clean.ok, true);
  assert.equal(clean.points, 1);
  assert.equal(clean.unindexedPacks, 0);
  assert.equal(clean.packs, needed.size);
  assert.ok((await restoreBytes(repo, incremental)).equals(day2), 'incremental restore differs after prune');

  // Only the named key(s): a fresh process that holds nothing else.
  const reopened = await Repository.open(store, target.reopenWith(), systemClock);
  assert.ok(reopened.master.chunkIdKey.equals(repo.master.chunkIdKey));
  assert.ok((await restoreBytes(reopened, incremental)).equals(day2), 'restore after reopening differs');
  await assert.rejects(Repository.open(store, [passphrase('not the passphrase')], systemClock), WrongKeyError);
  return { repo: reopened, incremental, day2, fullPacks, incrementalPacks, deleted };
}
