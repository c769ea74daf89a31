// AzureBlobObjectStore at the HTTP level: checksum, tier and immutability headers, retries, errors and cancellation.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { afterEach, describe, it } from 'node:test';
import { ContainerClient, StorageSharedKeyCredential } from '@azure/storage-blob';
import { ManualClock } from '../../core/clock.ts';
import { AbortedError } from '../../core/errors.ts';
import { StoreError } from '../../core/store/object-store.ts';
import { RetryingObjectStore, type RetryEvent } from '../../core/store/retrying-object-store.ts';
import { AzureBlobObjectStore, type AzureBlobStoreOptions } from '../../providers/azure/azure-blob-object-store.ts';
import { AZURITE_ACCOUNT, AZURITE_KEY } from '../support/azurite.ts';
import { acceptPuts, azureError, blobBody, startFakeBlobServer, type FakeBlobServer, type RecordedRequest, type Responder } from '../support/fake-blob-server.ts';

const DAY_MS = 24 * 60 * 60 * 1000;
const NOW = Date.UTC(2026, 2, 1, 12, 0, 0);
const md5 = (data: Buffer) => createHash('md5').update(data).digest('base64');

let server: FakeBlobServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function storeOn(respond: Responder, options: Partial<AzureBlobStoreOptions> = {}, key = AZURITE_KEY) {
  server = await startFakeBlobServer(respond);
  const credential = new StorageSharedKeyCredential(AZURITE_ACCOUNT, key);
  const containerClient = new ContainerClient(`${server.endpoint}/rec`, credential, { retryOptions: { maxTries: 1, tryTimeoutInMs: 60_000 } });
  return { store: new AzureBlobObjectStore({ containerClient, prefix: 'repo', clock: new ManualClock(NOW), ...options }), server };
}

const puts = (s: FakeBlobServer) => s.requests.filter((r) => r.method === 'PUT');
const query = (r: RecordedRequest) => new URL(r.url, 'http://fake').searchParams;
const path = (r: RecordedRequest) => new URL(r.url, 'http://fake').pathname;
const header = (r: RecordedRequest, name: string) => r.headers[name] as string | undefined;

describe('AzureBlobObjectStore on the wire', { timeout: 120_000 }, () => {
  it('sends each put as one Put Blob with Content-MD5, the tier of its kind and the immutability policy', async () => {
    const { store, server } = await storeOn(acceptPuts, { accessTiers: { pack: 'Cool' }, immutability: { days: 30, mode: 'Unlocked' } });
    assert.equal(store.description, 'azblob://devstoreaccount1/rec/repo');
    assert.deepEqual(store.capabilities, { conditionalWrites: false, objectLock: true, storageTiers: true });
    const pack = randomBytes(3000);
    const config = Buffer.from('{"version":1}');
    await store.put('packs/ab/abcd', pack, { kind: 'pack' });
    await store.put('config', config, { kind: 'config' });
    await store.put('index/x', Buffer.from('i'));
    const [p, c, i] = puts(server);
    assert.equal(puts(server).length, 3);
    assert.equal(path(p), '/devstoreaccount1/rec/repo/packs/ab/abcd');
    assert.equal(query(p).get('comp'), null, 'a plain Put Blob, not blocks');
    assert.equal(header(p, 'x-ms-blob-type'), 'BlockBlob');
    assert.ok(p.body.equals(pack));
    assert.equal(header(p, 'content-md5'), md5(pack));
    assert.equal(header(p, 'x-ms-access-tier'), 'Cool');
    assert.equal(header(c, 'content-md5'), md5(config));
    assert.equal(header(c, 'x-ms-access-tier'), undefined, 'config has no tier configured, so none is sent');
    assert.equal(header(i, 'x-ms-access-tier'), undefined, 'a put without a kind gets no tier');
    for (const r of [p, c, i]) {
      assert.equal(header(r, 'x-ms-immutability-policy-until-date'), new Date(NOW + 30 * DAY_MS).toUTCString(), r.url);
      assert.equal(header(r, 'x-ms-immutability-policy-mode'), 'Unlocked', r.url);
    }
  });

  it('sends no immutability headers when immutability is not configured', async () => {
    const { store, server } = await storeOn(acceptPuts, { accessTiers: { config: 'Hot' } });
    assert.equal(store.capabilities.objectLock, false);
    await store.put('config', Buffer.from('c'), { kind: 'config' });
    const [c] = puts(server);
    assert.equal(header(c, 'x-ms-access-tier'), 'Hot');
    assert.equal(header(c, 'x-ms-immutability-policy-until-date'), undefined);
    assert.equal(header(c, 'x-ms-immutability-policy-mode'), undefined);
  });

  it('sends large objects as blocks, each with its MD5, committed with tier and policy', async () => {
    const { store, server } = await storeOn(acceptPuts, {
      accessTiers: { pack: 'Cold' },
      immutability: { days: 7, mode: 'Locked' },
      maxSinglePutBytes: 1024,
      blockSize: 600,
    });
    const data = randomBytes(1500);
    await store.put('packs/cd/big', data, { kind: 'pack' });
    const blocks = puts(server).filter((r) => query(r).get('comp') === 'block');
    const commits = puts(server).filter((r) => query(r).get('comp') === 'blocklist');
    assert.equal(blocks.length, 3);
    assert.equal(commits.length, 1);
    assert.equal(puts(server).length, 4, 'nothing but three blocks and one commit');
    const ids = blocks.map((r) => query(r).get('blockid') ?? '');
    const byId = new Map(blocks.map((r, n) => [ids[n], r]));
    const committed = [...commits[0].body.toString().matchAll(/<Latest>([^<]+)<\/Latest>/g)].map((m) => m[1]);
    assert.equal(committed.length, 3);
    const joined = Buffer.concat(committed.map((id) => byId.get(id)!.body));
    assert.ok(joined.equals(data), 'blocks in commit order rebuild the object');
    for (const r of blocks) assert.equal(header(r, 'content-md5'), md5(r.body));
    assert.equal(header(commits[0], 'x-ms-access-tier'), 'Cold');
    assert.equal(header(commits[0], 'x-ms-immutability-policy-until-date'), new Date(NOW + 7 * DAY_MS).toUTCString());
    assert.equal(header(commits[0], 'x-ms-immutability-policy-mode'), 'Locked');
  });

  it('retries 503 ServerBusy twice then succeeds through RetryingObjectStore', async () => {
    const data = Buffer.from('third time lucky');
    const busyTwice: Responder = (req, n) => {
      if (n % 3 < 2) return azureError(503, 'ServerBusy', 'The server is busy.');
      return req.method === 'PUT' ? acceptPuts(req, n) : blobBody(data);
    };
    const { store, server } = await storeOn(busyTwice);
    const events: RetryEvent[] = [];
    const retrying = new RetryingObjectStore(store, { sleep: async () => {}, onRetry: (e) => events.push(e) });
    await retrying.put('packs/aa/x', data, { kind: 'pack' });
    assert.equal(server.requests.length, 3);
    assert.ok(server.requests[2].body.equals(data));
    assert.deepEqual(await retrying.get('packs/aa/x'), data);
    assert.equal(server.requests.length, 6);
    assert.deepEqual(events.map((e) => [e.op, e.attempt]), [['put', 1], ['put', 2], ['get', 1], ['get', 2]]);
    for (const e of events) {
      assert.ok(e.error instanceof StoreError && e.error.retryable, String(e.error));
      assert.match(e.error.message, /503 ServerBusy/);
      assert.equal((e.error.cause as { statusCode?: number }).statusCode, 503, 'the RestError is kept as the cause');
    }
  });

  it('marks 500 and OperationTimedOut retryable, and a lost connection too', async () => {
    const { store } = await storeOn((_req, n) => (n === 0 ? azureError(500, 'OperationTimedOut', 'Timed out.') : azureError(500, 'InternalError', 'Oops.')));
    for (let n = 0; n < 2; n++) {
      await assert.rejects(store.stat('a'), (err: unknown) => err instanceof StoreError && err.retryable && err.key === 'a');
    }
    await server!.close();
    await assert.rejects(store.put('a', Buffer.from('x')), (err: unknown) => {
      assert.ok(err instanceof StoreError && err.retryable, String(err));
      assert.match(err.message, /could not reach the service/);
      return true;
    });
  });

  it('refuses 403 as non-retryable without repeating the service message or any key', async () => {
    const secretish = randomBytes(32).toString('base64');
    const { store } = await storeOn(() => azureError(403, 'AuthenticationFailed', `Signature did not match. String to sign used was '${secretish}'`));
    for (const call of [() => store.put('k', Buffer.from('x')), () => store.get('k'), () => store.stat('k')]) {
      await assert.rejects(call(), (err: unknown) => {
        assert.ok(err instanceof StoreError && !err.retryable, String(err));
        assert.match(err.message, /credentials are wrong or lack permission/);
        assert.ok(!err.message.includes(secretish) && !err.message.includes(AZURITE_KEY), err.message);
        return true;
      });
    }
  });

  it('checks ranged reads: a short answer for a range past the end names key and sizes', async () => {
    const data = randomBytes(100);
    const { store } = await storeOn((req) => {
      const [, from, to] = /bytes=(\d+)-(\d+)/.exec(String(req.headers['x-ms-range'] ?? req.headers.range)) ?? [];
      const end = Math.min(Number(to), 99);
      return { ...blobBody(data.subarray(Number(from), end + 1)), status: 206, headers: { ...blobBody(data).headers, 'content-range': `bytes ${from}-${end}/100` } };
    });
    assert.deepEqual(await store.get('r', { range: { offset: 10, length: 20 } }), data.subarray(10, 30));
    await assert.rejects(store.get('r', { range: { offset: 90, length: 20 } }), /range past end of r: offset 90 \+ length 20 > size 100/);
  });

  it('turns a cancelled call into AbortedError, also while waiting for the service', async () => {
    const { store } = await storeOn(() => 'hang');
    const controller = new AbortController();
    const started = Date.now();
    setTimeout(() => controller.abort(), 200);
    await assert.rejects(store.put('slow', randomBytes(1000), { signal: controller.signal }), AbortedError);
    const late = new AbortController();
    setTimeout(() => late.abort(), 200);
    await assert.rejects(store.get('slow', { signal: late.signal }), AbortedError);
    assert.ok(Date.now() - started < 30_000, 'abort took effect promptly');
  });
});
