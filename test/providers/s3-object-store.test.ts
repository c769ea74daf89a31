// S3ObjectStore on the fauxqs emulator: the shared contract, S3 specifics and a full repository round trip.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it, type TestContext } from 'node:test';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { ManualClock } from '../../core/clock.ts';
import { backupResource } from '../../core/engine/backup.ts';
import { restoreDisk } from '../../core/engine/restore.ts';
import { verifyRepository } from '../../core/maintenance/verify.ts';
import { DEFAULT_PARAMS, type RepoParams } from '../../core/repo/config.ts';
import { Repository } from '../../core/repo/repository.ts';
import { listAll, StoreError } from '../../core/store/object-store.ts';
import { RetryingObjectStore } from '../../core/store/retrying-object-store.ts';
import { formatBytes } from '../../core/util/units.ts';
import { S3ObjectStore, type S3ObjectStoreOptions } from '../../providers/aws/s3-object-store.ts';
import { BufferSink, BufferSnapshotSource } from '../support/buffer-volume.ts';
import { FAUXQS_CREDENTIALS, FAUXQS_REGION, startFauxqs, type Fauxqs } from '../support/fauxqs.ts';
import { mixedImage } from '../support/images.ts';
import { describeObjectStoreContract } from '../support/object-store-contract.ts';
import { makeRepo, passphrase, SMALL_PARAMS } from '../support/repo-fixture.ts';

const TIMEOUT = { timeout: 300_000 };

// One emulator per test file, started on first use; the file's last hook stops it.
let server: Promise<Fauxqs> | undefined;
const fauxqs = (): Promise<Fauxqs> => (server ??= startFauxqs());
after(async () => {
  if (server) await (await server).stop();
});

let stores = 0;
/** A store on a prefix no other test uses, so tests share one bucket without seeing each other. */
async function freshStore(options: Partial<S3ObjectStoreOptions> = {}): Promise<S3ObjectStore> {
  const f = await fauxqs();
  const prefix = `t/${++stores}-${randomBytes(4).toString('hex')}`;
  return new S3ObjectStore({ bucket: f.bucket, prefix, region: FAUXQS_REGION, endpoint: f.endpoint, credentials: FAUXQS_CREDENTIALS, ...options });
}

async function removeAll(store: S3ObjectStore): Promise<void> {
  await store.deleteMany((await listAll(store, '')).map((info) => info.key));
}

describeObjectStoreContract('S3ObjectStore (fauxqs)', async () => {
  const store = await freshStore();
  return { store, cleanup: () => removeAll(store) };
});

describe('S3ObjectStore on fauxqs', () => {
  it('lists only valid keys under its own prefix', TIMEOUT, async () => {
    const f = await fauxqs();
    const store = await freshStore();
    const raw = f.client();
    try {
      for (const key of [`${store.prefix}/ok`, `${store.prefix}/not a key`, `${store.prefix}/x/../y`, `${store.prefix}-sibling/z`, store.prefix]) {
        await raw.send(new PutObjectCommand({ Bucket: f.bucket, Key: key, Body: 'x' }));
      }
    } finally {
      raw.destroy();
    }
    assert.deepEqual((await listAll(store, '')).map((i) => i.key), ['ok']);
    assert.equal((await store.get('ok')).toString(), 'x');
  });

  it('names the key and sizes when a range runs past the end', TIMEOUT, async () => {
    const store = await freshStore();
    await store.put('r/obj', Buffer.alloc(1000, 1));
    await assert.rejects(store.get('r/obj', { range: { offset: 995, length: 10 } }), /range past end of r\/obj: offset 995 \+ length 10 > size 1000/);
    await assert.rejects(store.get('r/obj', { range: { offset: 2000, length: 1 } }), /range past end of r\/obj: offset 2000 \+ length 1 > size 1000/);
    await assert.rejects(store.get('r/obj', { range: { offset: 1001, length: 0 } }), (err: unknown) => err instanceof StoreError && err.key === 'r/obj');
  });

  it('deletes many keys in batches and treats missing ones as deleted', TIMEOUT, async () => {
    const store = await freshStore();
    const keys = Array.from({ length: 1100 }, (_, i) => `packs/${String(i % 16).padStart(2, '0')}/${i}`);
    for (let i = 0; i < keys.length; i += 100) await Promise.all(keys.slice(i, i + 100).map((k) => store.put(k, Buffer.from(k))));
    await store.put('keep', Buffer.from('k'));
    await store.deleteMany([...keys, 'never/written']);
    assert.deepEqual((await listAll(store, '')).map((i) => i.key), ['keep']);
  });
});

/** Counts HTTP requests per S3 operation (each attempt, as the server sees them). */
function countRequests(client: S3Client): Map<string, number> {
  const counts = new Map<string, number>();
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const op = (context.commandName ?? 'Unknown').replace(/Command$/, '');
      counts.set(op, (counts.get(op) ?? 0) + 1);
      return next(args);
    },
    { step: 'deserialize', name: 'cloudkeepTestRequestCounter' },
  );
  return counts;
}

function snapshotCounts(counts: Map<string, number>): Record<string, number> {
  return Object.fromEntries([...counts].sort(([a], [b]) => a.localeCompare(b)));
}

function minus(now: Record<string, number>, before: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(now).map(([op, n]) => [op, n - (before[op] ?? 0)]).filter(([, n]) => n !== 0));
}

const resource = { id: 'vol-s3', kind: 'volume' as const, provider: 'test' };
const roundTrips: Array<{ label: string; params: RepoParams; imageSize: number }> = [
  { label: 'small packs (256 KiB)', params: SMALL_PARAMS, imageSize: 3 * 1024 * 1024 + 12345 },
  { label: 'default packs (32 MiB)', params: DEFAULT_PARAMS, imageSize: 12 * 1024 * 1024 + 777 },
];

describe('a repository on S3 (fauxqs)', () => {
  for (const { label, params, imageSize } of roundTrips) {
    it(`backs up, restores exactly and verifies clean with ${label}`, TIMEOUT, async (t: TestContext) => {
      const s3 = await freshStore({ storageClasses: { pack: 'STANDARD_IA' } });
      const counts = countRequests(s3.client);
      const store = new RetryingObjectStore(s3);
      const clock = new ManualClock(Date.now());
      const { repo, processor } = await makeRepo({ store, params, clock });
      const afterInit = snapshotCounts(counts);

      const source = new BufferSnapshotSource(params.chunking.blockSize);
      const image = mixedImage(`s3-${label}`, imageSize);
      const snap = source.snapshot(resource.id, image);
      const manifest = await backupResource({ repo, index: await repo.loadIndex(), source, processor }, { resource, disks: [{ name: 'root', snapshot: snap }] });
      const afterBackup = snapshotCounts(counts);

      // A second process would open the repository from the bucket alone.
      const reopened = await Repository.open(store, [passphrase()], clock);
      const sink = new BufferSink();
      await restoreDisk({ repo: reopened, index: await reopened.loadIndex(), processor }, await reopened.readManifest(manifest.id), 'root', sink);
      assert.equal(sink.data.length, image.length);
      assert.ok(sink.data.equals(image), 'restored bytes differ');
      const afterRestore = snapshotCounts(counts);

      const report = await verifyRepository(reopened, processor, { full: true });
      assert.deepEqual(report.problems, []);
      assert.equal(report.ok, true);
      assert.ok(report.chunksChecked > 0);
      const afterVerify = snapshotCounts(counts);

      const objects = await listAll(s3, '');
      const stored = objects.reduce((sum, o) => sum + o.size, 0);
      const packs = objects.filter((o) => o.key.startsWith('packs/'));
      const puts = afterBackup.PutObject - (afterInit.PutObject ?? 0);
      const mib = stored / (1024 * 1024);
      t.diagnostic(`${label}: image ${formatBytes(image.length)}, stored ${formatBytes(stored)} in ${objects.length} objects (${packs.length} packs)`);
      t.diagnostic(`  init    ${JSON.stringify(afterInit)}`);
      t.diagnostic(`  backup  ${JSON.stringify(minus(afterBackup, afterInit))}`);
      t.diagnostic(`  restore ${JSON.stringify(minus(afterRestore, afterBackup))}`);
      t.diagnostic(`  verify  ${JSON.stringify(minus(afterVerify, afterRestore))}`);
      t.diagnostic(`  backup PUTs per MiB stored: ${(puts / mib).toFixed(2)} (${puts} PUTs, ${mib.toFixed(2)} MiB); all PUTs per MiB: ${(afterVerify.PutObject / mib).toFixed(2)}`);
      assert.equal(manifest.stats.packsWritten, packs.length);
      await removeAll(s3);
    });
  }
});
