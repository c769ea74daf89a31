// AzureBlobObjectStore against Azurite: the shared contract, Azure behaviours, and a whole repository round trip.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { inspect } from 'node:util';
import { ContainerClient, StorageSharedKeyCredential } from '@azure/storage-blob';
import { systemClock } from '../../core/clock.ts';
import { backupResource } from '../../core/engine/backup.ts';
import { restoreDisk } from '../../core/engine/restore.ts';
import { verifyRepository } from '../../core/maintenance/verify.ts';
import { Repository } from '../../core/repo/repository.ts';
import { listAll, ObjectNotFoundError, StoreError, type ObjectStore } from '../../core/store/object-store.ts';
import { RetryingObjectStore } from '../../core/store/retrying-object-store.ts';
import { azureStoreFromUrl, AzureBlobObjectStore } from '../../providers/azure/azure-blob-object-store.ts';
import { AZURITE_ACCOUNT, AZURITE_KEY, startAzurite, type Azurite } from '../support/azurite.ts';
import { BufferSink, BufferSnapshotSource } from '../support/buffer-volume.ts';
import { CountingObjectStore } from '../../core/store/counting-object-store.ts';
import { mixedImage } from '../support/images.ts';
import { describeObjectStoreContract } from '../support/object-store-contract.ts';
import { makeRepo, passphrase } from '../support/repo-fixture.ts';

let starting: Promise<Azurite> | undefined;
/** One Azurite for the whole file, started on first use. */
const azurite = (): Promise<Azurite> => (starting ??= startAzurite());
after(async () => {
  await (await starting?.catch(() => undefined))?.stop();
});

let contractContainer: Promise<ContainerClient> | undefined;
let fixtures = 0;
describe('AzureBlobObjectStore on Azurite', { timeout: 600_000 }, () => {
  // Every fixture gets its own prefix in one container, which also checks that prefixes isolate stores.
  // A small page size makes the 1200-object listing span several List Blobs pages.
  describeObjectStoreContract('AzureBlobObjectStore (Azurite)', async () => {
    contractContainer ??= azurite().then((az) => az.createContainer());
    const store = new AzureBlobObjectStore({ containerClient: await contractContainer, prefix: `f${++fixtures}/repo`, listPageSize: 500 });
    return { store, cleanup: async () => {} };
  });
});

describe('AzureBlobObjectStore Azure behaviours', { timeout: 300_000 }, () => {
  it('sets the access tier of each kind on the blob', async () => {
    const client = await (await azurite()).createContainer();
    const store = new AzureBlobObjectStore({ containerClient: client, prefix: 'tiers', accessTiers: { pack: 'Cool', index: 'Cold' } });
    await store.put('packs/ab/p', Buffer.from('pack'), { kind: 'pack' });
    await store.put('index/i', Buffer.from('index'), { kind: 'index' });
    await store.put('config', Buffer.from('config'), { kind: 'config' });
    const tier = async (name: string) => (await client.getBlobClient(name).getProperties()).accessTier;
    assert.equal(await tier('tiers/packs/ab/p'), 'Cool');
    assert.equal(await tier('tiers/index/i'), 'Cold');
    assert.equal(await tier('tiers/config'), 'Hot', 'no tier configured: the account default');
  });

  it('round-trips an object sent as staged blocks, and lists it at its full size', async () => {
    const store = new AzureBlobObjectStore({ containerClient: await (await azurite()).createContainer(), maxSinglePutBytes: 1024 * 1024, blockSize: 256 * 1024 });
    const data = randomBytes(1024 * 1024 + 300 * 1024 + 7);
    await store.put('packs/ff/big', data, { kind: 'pack' });
    assert.ok((await store.get('packs/ff/big')).equals(data));
    assert.ok((await store.get('packs/ff/big', { range: { offset: 1000, length: 300_000 } })).equals(data.subarray(1000, 301_000)));
    assert.deepEqual((await listAll(store, 'packs/')).map((i) => [i.key, i.size]), [['packs/ff/big', data.length]]);
  });

  it('skips blobs under the prefix whose names are not keys', async () => {
    const client = await (await azurite()).createContainer();
    const store = new AzureBlobObjectStore({ containerClient: client, prefix: 'p' });
    await store.put('ok', Buffer.from('1'));
    await client.getBlockBlobClient('p/not a key').upload('x', 1);
    await client.getBlockBlobClient('pother').upload('x', 1);
    assert.deepEqual((await listAll(store, '')).map((i) => i.key), ['ok']);
  });

  it('reports a missing container clearly and without retries', async () => {
    const store = new AzureBlobObjectStore({ containerClient: (await azurite()).containerClient('no-such-container'), prefix: 'r' });
    const calls: Array<[string, () => Promise<unknown>]> = [
      ['put', () => store.put('config', Buffer.from('x'))],
      ['get', () => store.get('config')],
      ['stat', () => store.stat('config')],
      ['delete', () => store.delete('config')],
      ['list', () => listAll(store, '')],
    ];
    for (const [op, call] of calls) {
      await assert.rejects(call(), (err: unknown) => {
        assert.ok(err instanceof StoreError && !(err instanceof ObjectNotFoundError), `${op}: ${String(err)}`);
        assert.equal(err.retryable, false, op);
        assert.match(err.message, /container no-such-container does not exist in account devstoreaccount1/, op);
        assert.ok(err.cause !== undefined, op);
        return true;
      });
    }
  });

  it('reports a wrong key as a non-retryable credentials problem that names no key', async () => {
    const az = await azurite();
    const wrongKey = randomBytes(64).toString('base64');
    const real = await az.createContainer();
    const client = new ContainerClient(real.url, new StorageSharedKeyCredential(AZURITE_ACCOUNT, wrongKey), { retryOptions: { maxTries: 1 } });
    const store = new AzureBlobObjectStore({ containerClient: client });
    for (const call of [() => store.put('k', Buffer.from('x')), () => store.stat('k'), () => listAll(store, '')]) {
      await assert.rejects(call(), (err: unknown) => {
        assert.ok(err instanceof StoreError && !err.retryable, String(err));
        assert.match(err.message, /403 AuthorizationFailure\): the credentials are wrong or lack permission/);
        assert.ok(!err.message.includes(wrongKey) && !err.message.includes(AZURITE_KEY));
        const logged = inspect(err, { depth: 12 });
        assert.ok(!logged.includes(wrongKey) && !logged.includes('accountKey'), 'a logged error (with its cause) holds no key');
        return true;
      });
    }
  });
});

describe('a repository on Azurite', { timeout: 600_000 }, () => {
  it('backs up, restores exactly and verifies clean; reopens from an azblob:// URL', async (t) => {
    const az = await azurite();
    const container = await az.createContainer();
    const azure = new AzureBlobObjectStore({ containerClient: container, prefix: 'repos/first', accessTiers: { pack: 'Cool' } });
    const counting = new CountingObjectStore(azure);
    const store: ObjectStore = new RetryingObjectStore(counting);
    const ctx = await makeRepo({ store });
    const source = new BufferSnapshotSource(64 * 1024);
    const image = mixedImage('azure-round-trip', 3 * 1024 * 1024 + 12345);
    const resource = { id: 'vol-az', kind: 'volume' as const, provider: 'test' };
    const snap = source.snapshot('vol-az', image);
    const manifest = await backupResource({ repo: ctx.repo, index: await ctx.repo.loadIndex(), source, processor: ctx.processor }, { resource, disks: [{ name: 'root', snapshot: snap }] });
    assert.equal(manifest.kind, 'full');
    t.diagnostic(`after backup: ${counting.summary()}`);

    const sink = new BufferSink();
    await restoreDisk({ repo: ctx.repo, index: await ctx.repo.loadIndex(), processor: ctx.processor }, await ctx.repo.readManifest(manifest.id), 'root', sink);
    assert.equal(sink.data.length, image.length);
    assert.ok(sink.data.equals(image), 'restored bytes differ');

    const report = await verifyRepository(ctx.repo, ctx.processor, { full: true });
    assert.deepEqual(report.problems, []);
    assert.equal(report.ok, true);
    assert.ok(report.packs > 0 && report.chunksChecked > 0);
    t.diagnostic(`after restore and full verify: ${counting.summary()}`);
    const packs = await listAll(azure, 'packs/');
    const tiers = await Promise.all(packs.map(async (p) => (await container.getBlobClient(`repos/first/${p.key}`).getProperties()).accessTier));
    // Data packs go to the configured tier; tree packs (block maps) stay hot on purpose.
    assert.ok(tiers.includes('Cool'), `no pack in the Cool tier: ${tiers}`);
    assert.ok(tiers.every((tier) => tier === 'Cool' || tier === 'Hot'), `unexpected tiers: ${tiers}`);

    // A second process finds the repository from its URL alone, with the shared key from the environment.
    const url = new URL(`azblob://${AZURITE_ACCOUNT}/${container.containerName}/repos/first?endpoint=${encodeURIComponent(az.endpoint)}`);
    const fromUrl = azureStoreFromUrl(url, { AZURE_STORAGE_KEY: AZURITE_KEY });
    const reopened = await Repository.open(fromUrl, [passphrase()], systemClock);
    assert.deepEqual(await reopened.listPointIds(), [manifest.id]);
  });
});
