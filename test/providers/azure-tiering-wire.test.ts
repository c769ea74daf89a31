// AzureBlobObjectStore storage tiers on the wire: Archive for packs only, tierOf, Set Blob Tier with rehydrate priority.
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { ContainerClient, StorageSharedKeyCredential } from '@azure/storage-blob';
import { ObjectArchivedError } from '../../core/store/object-store.ts';
import { AzureBlobObjectStore, type AzureBlobStoreOptions } from '../../providers/azure/azure-blob-object-store.ts';
import { parseAzureStoreUrl } from '../../providers/azure/azure-store-url.ts';
import { AZURITE_ACCOUNT, AZURITE_KEY } from '../support/azurite.ts';
import { acceptPuts, azureError, startFakeBlobServer, type FakeBlobServer, type FakeResponse, type Responder } from '../support/fake-blob-server.ts';

let server: FakeBlobServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function storeOn(respond: Responder, options: Partial<AzureBlobStoreOptions> = {}) {
  server = await startFakeBlobServer(respond);
  const containerClient = new ContainerClient(`${server.endpoint}/rec`, new StorageSharedKeyCredential(AZURITE_ACCOUNT, AZURITE_KEY), { retryOptions: { maxTries: 1 } });
  return { store: new AzureBlobObjectStore({ containerClient, prefix: 'repo', ...options }), server };
}

const props = (headers: Record<string, string>): FakeResponse => ({
  status: 200,
  headers: { 'content-length': '10', 'last-modified': 'Wed, 01 Jan 2026 00:00:00 GMT', 'x-ms-blob-type': 'BlockBlob', ...headers },
});

describe('AzureBlobObjectStore storage tiers', { timeout: 60_000 }, () => {
  it('puts packs in Archive when configured, every other kind without a tier', async () => {
    const { store, server } = await storeOn(acceptPuts, { accessTiers: { pack: 'Archive' } });
    await store.put('packs/ab/abcdef', Buffer.from('pack'), { kind: 'pack' });
    await store.put('config', Buffer.from('c'), { kind: 'config' });
    await store.put('index/i1', Buffer.from('i'), { kind: 'index' });
    await store.put('points/p1', Buffer.from('m'), { kind: 'manifest' });
    assert.equal(server.requests[0].headers['x-ms-access-tier'], 'Archive');
    for (const req of server.requests.slice(1)) assert.equal(req.headers['x-ms-access-tier'], undefined, req.url);
  });

  it('refuses Archive for any kind but packs, in options and URLs', () => {
    assert.throws(() => new AzureBlobObjectStore({ account: 'acct', container: 'ctr', accessTiers: { index: 'Archive' } }), /access tier Archive for index objects: Archive is for packs only/);
    assert.throws(() => parseAzureStoreUrl(new URL('azblob://acme123/vault?tier.manifest=Archive')), /Archive for manifest objects/);
    assert.deepEqual(parseAzureStoreUrl(new URL('azblob://acme123/vault?tier.pack=Archive')).accessTiers, { pack: 'Archive' });
  });

  it('reads tiers from Get Blob Properties and rehydrates with Set Blob Tier and x-ms-rehydrate-priority', async () => {
    const answers: FakeResponse[] = [
      props({ 'x-ms-access-tier': 'Archive' }), // tierOf
      props({ 'x-ms-access-tier': 'Archive' }), // requestRehydrate: check
      { status: 202 }, // Set Blob Tier
      props({ 'x-ms-access-tier': 'Archive', 'x-ms-archive-status': 'rehydrate-pending-to-hot' }), // requestRehydrate again: under way
      props({ 'x-ms-access-tier': 'Cool' }), // tierOf
    ];
    const { store, server } = await storeOn((_req, i) => answers[i]);
    assert.deepEqual(await store.tierOf('packs/ab/abcdef'), { tier: 'Archive', archived: true, rehydrating: false, minimumDurationDays: 180 });
    await store.requestRehydrate('packs/ab/abcdef', { days: 1, priority: 'expedited' });
    await store.requestRehydrate('packs/ab/abcdef', { days: 1, priority: 'expedited' });
    assert.deepEqual(await store.tierOf('packs/ab/abcdef'), { tier: 'Cool', archived: false, rehydrating: false, minimumDurationDays: 30 });
    const setTier = server.requests.filter((r) => r.method === 'PUT');
    assert.equal(setTier.length, 1, 'no second Set Blob Tier while one is under way');
    assert.equal(new URL(setTier[0].url, 'http://x').searchParams.get('comp'), 'tier');
    assert.equal(setTier[0].headers['x-ms-access-tier'], 'Hot');
    assert.equal(setTier[0].headers['x-ms-rehydrate-priority'], 'High');
  });

  it('turns a read of an archived blob (409 BlobArchived) into ObjectArchivedError', async () => {
    const { store } = await storeOn(() => azureError(409, 'BlobArchived', 'This operation is not permitted on an archived blob.'));
    const err = await store.get('packs/ab/abcdef').then(() => null, (e: unknown) => e);
    assert.ok(err instanceof ObjectArchivedError, String(err));
    assert.equal(err.key, 'packs/ab/abcdef');
    assert.equal(err.retryable, false);
  });
});
