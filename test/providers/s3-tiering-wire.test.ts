// S3ObjectStore storage tiers on the wire: archive classes for packs only, tierOf, RestoreObject, archived reads.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { ObjectArchivedError } from '../../core/store/object-store.ts';
import { RetryingObjectStore } from '../../core/store/retrying-object-store.ts';
import { S3ObjectStore, type S3ObjectStoreOptions } from '../../providers/aws/s3-object-store.ts';
import { okHandler, s3Error, startFakeS3, type FakeHandler, type FakeS3 } from '../support/fake-s3-server.ts';

const TIMEOUT = { timeout: 60_000 };
const servers: FakeS3[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

async function storeOn(handler: FakeHandler, options: Partial<S3ObjectStoreOptions> = {}) {
  const server = await startFakeS3(handler);
  servers.push(server);
  const store = new S3ObjectStore({ bucket: 'my-bucket', prefix: 'repo', region: 'eu-west-1', endpoint: server.endpoint, credentials: { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'secret' }, ...options });
  return { server, store };
}

const head = (headers: Record<string, string>) => ({ status: 200, headers: { 'content-length': '10', 'last-modified': 'Wed, 01 Jan 2026 00:00:00 GMT', ...headers } });

describe('S3ObjectStore storage tiers', () => {
  it('puts packs in GLACIER when configured; config, keys, indexes, manifests and markers never carry a class', TIMEOUT, async () => {
    const { server, store } = await storeOn(okHandler, { storageClasses: { pack: 'GLACIER' } });
    await store.put('packs/ab/abcdef', Buffer.from('pack'), { kind: 'pack' });
    for (const [key, kind] of [['config', 'config'], ['keys/k1', 'key'], ['index/i1', 'index'], ['points/p1', 'manifest'], ['markers/m1', 'marker']] as const) {
      await store.put(key, Buffer.from(key), { kind });
    }
    assert.equal(server.requests[0].headers['x-amz-storage-class'], 'GLACIER');
    for (const req of server.requests.slice(1)) assert.equal(req.headers['x-amz-storage-class'], undefined, req.path);
  });

  it('refuses archive classes for any kind but packs, naming the kind', () => {
    const base = { bucket: 'bkt', region: 'eu-west-1' };
    assert.throws(() => new S3ObjectStore({ ...base, storageClasses: { index: 'GLACIER' } }), /storage class "GLACIER" for index: GLACIER, DEEP_ARCHIVE, GLACIER_IR are for packs only/);
    assert.throws(() => new S3ObjectStore({ ...base, storageClasses: { manifest: 'DEEP_ARCHIVE' } }), /for manifest/);
  });

  it('turns a GET answered 403 InvalidObjectState into ObjectArchivedError, without retries', TIMEOUT, async () => {
    const { server, store } = await storeOn(() => s3Error(403, 'InvalidObjectState', 'The operation is not valid for the object\'s storage class'));
    const retrying = new RetryingObjectStore(store, { sleep: async () => {} });
    const err = await retrying.get('packs/ab/abcdef').then(() => null, (e: unknown) => e);
    assert.ok(err instanceof ObjectArchivedError, String(err));
    assert.equal(err.key, 'packs/ab/abcdef');
    assert.equal(err.retryable, false);
    assert.match(err.message, /packs\/ab\/abcdef in s3:\/\/my-bucket\/repo is archived/);
    assert.equal(server.requests.length, 1);
  });

  it('reads the tier from HeadObject: class, restore in progress, restored copy, minimum duration', TIMEOUT, async () => {
    const answers = [
      head({ 'x-amz-storage-class': 'GLACIER' }),
      head({ 'x-amz-storage-class': 'DEEP_ARCHIVE', 'x-amz-restore': 'ongoing-request="true"' }),
      head({ 'x-amz-storage-class': 'GLACIER', 'x-amz-restore': 'ongoing-request="false", expiry-date="Fri, 23 Jan 2026 00:00:00 GMT"' }),
      head({}),
      head({ 'x-amz-storage-class': 'STANDARD_IA' }),
    ];
    const { server, store } = await storeOn((_req, i) => answers[i]);
    const states = [];
    for (let i = 0; i < answers.length; i++) states.push(await store.tierOf('packs/ab/abcdef'));
    assert.deepEqual(states, [
      { tier: 'GLACIER', archived: true, rehydrating: false, minimumDurationDays: 90 },
      { tier: 'DEEP_ARCHIVE', archived: true, rehydrating: true, minimumDurationDays: 180 },
      { tier: 'GLACIER', archived: false, rehydrating: false, minimumDurationDays: 90 },
      { tier: 'STANDARD', archived: false, rehydrating: false, minimumDurationDays: 0 },
      { tier: 'STANDARD_IA', archived: false, rehydrating: false, minimumDurationDays: 30 },
    ]);
    assert.ok(server.requests.every((r) => r.method === 'HEAD' && r.path === '/my-bucket/repo/packs/ab/abcdef'));
  });

  it('asks RestoreObject with Days and the retrieval Tier; a restore already in progress counts as asked', TIMEOUT, async () => {
    const { server, store } = await storeOn((_req, i) => (i === 0 ? { status: 202 } : s3Error(409, 'RestoreAlreadyInProgress', 'Object restore is already in progress')));
    await store.requestRehydrate('packs/ab/abcdef', { days: 3, priority: 'bulk' });
    await store.requestRehydrate('packs/ab/abcdef', { days: 3, priority: 'expedited' });
    const [req] = server.requests;
    assert.equal(req.method, 'POST');
    assert.equal(req.path, '/my-bucket/repo/packs/ab/abcdef');
    assert.ok(req.query.has('restore'));
    const body = req.body.toString();
    assert.match(body, /<Days>3<\/Days>/);
    assert.match(body, /<GlacierJobParameters><Tier>Bulk<\/Tier><\/GlacierJobParameters>/);
    assert.match(server.requests[1].body.toString(), /<Tier>Expedited<\/Tier>/);
  });
});
