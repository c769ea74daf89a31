// S3ObjectStore against scripted HTTP servers: request headers, retries, cancellation and error translation.
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { crc32 } from 'node:zlib';
import { after, describe, it } from 'node:test';
import { ManualClock } from '../../core/clock.ts';
import { AbortedError } from '../../core/errors.ts';
import { ObjectNotFoundError, StoreError } from '../../core/store/object-store.ts';
import { RetryingObjectStore, type RetryEvent } from '../../core/store/retrying-object-store.ts';
import { S3ObjectStore, type S3ObjectStoreOptions } from '../../providers/aws/s3-object-store.ts';
import { FAKE_ETAG, okHandler, s3Error, startFakeS3, type FakeHandler, type FakeS3 } from '../support/fake-s3-server.ts';

const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY-do-not-leak';
const ACCESS_KEY = 'AKIAIOSFODNN7EXAMPLE';
const TIMEOUT = { timeout: 60_000 };
const DAY_MS = 86_400_000;

const servers: FakeS3[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

async function fake(handler: FakeHandler): Promise<FakeS3> {
  const server = await startFakeS3(handler);
  servers.push(server);
  return server;
}

function storeOn(server: FakeS3, options: Partial<S3ObjectStoreOptions> = {}): S3ObjectStore {
  return new S3ObjectStore({ bucket: 'my-bucket', prefix: 'repo', region: 'eu-west-1', endpoint: server.endpoint, credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET }, ...options });
}

function crcOf(body: Buffer): string {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(crc32(body) >>> 0);
  return out.toString('base64');
}

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(',') : value;
}

describe('S3ObjectStore requests', () => {
  it('puts each object once with a CRC32 checksum, storage class per kind and Object Lock headers', TIMEOUT, async () => {
    const server = await fake(okHandler);
    const clock = new ManualClock(Date.UTC(2026, 4, 1, 12, 30, 15));
    const store = storeOn(server, { storageClasses: { pack: 'STANDARD_IA' }, objectLock: { mode: 'GOVERNANCE', days: 30 }, clock });
    assert.deepEqual(store.capabilities, { conditionalWrites: false, objectLock: true, storageTiers: true });
    const pack = Buffer.alloc(300_000, 7);
    await store.put('packs/ab/abcdef', pack, { kind: 'pack' });
    await store.put('config', Buffer.from('{"config":1}'), { kind: 'config' });
    await store.put('index/1', Buffer.from('index'), { kind: 'index' });
    await store.put('untyped', new Uint8Array([1, 2, 3]));
    assert.deepEqual(server.requests.map((r) => `${r.method} ${r.path}`), ['PUT /my-bucket/repo/packs/ab/abcdef', 'PUT /my-bucket/repo/config', 'PUT /my-bucket/repo/index/1', 'PUT /my-bucket/repo/untyped']);
    for (const req of server.requests) {
      assert.equal(req.headers['x-amz-checksum-crc32'], crcOf(req.body), `checksum of ${req.path}`);
      assert.equal(req.headers['x-amz-sdk-checksum-algorithm'], 'CRC32');
      assert.equal(req.headers['content-encoding'], undefined, 'body must be sent plain, not aws-chunked');
      assert.equal(req.headers['x-amz-object-lock-mode'], 'GOVERNANCE');
      const until = Date.parse(header(req.headers['x-amz-object-lock-retain-until-date']) ?? '');
      assert.equal(until, clock.now() + 30 * DAY_MS, `retain-until of ${req.path}`);
    }
    assert.equal(server.requests[0].body.length, pack.length);
    assert.equal(server.requests[0].headers['x-amz-storage-class'], 'STANDARD_IA');
    for (const req of server.requests.slice(1)) assert.ok([undefined, 'STANDARD'].includes(header(req.headers['x-amz-storage-class'])), `storage class of ${req.path}`);
  });

  it('sends no Object Lock or storage class headers when none are configured', TIMEOUT, async () => {
    const server = await fake(okHandler);
    const store = storeOn(server, { prefix: undefined });
    assert.equal(store.capabilities.objectLock, false);
    assert.equal(store.description, 's3://my-bucket');
    await store.put('packs/ab/x', Buffer.from('p'), { kind: 'pack' });
    const [req] = server.requests;
    assert.equal(req.path, '/my-bucket/packs/ab/x');
    assert.equal(req.headers['x-amz-checksum-crc32'], crcOf(Buffer.from('p')));
    for (const name of ['x-amz-object-lock-mode', 'x-amz-object-lock-retain-until-date', 'x-amz-storage-class']) assert.equal(req.headers[name], undefined, name);
  });

  it('deletes many keys with DeleteObjects, 1000 per request', TIMEOUT, async () => {
    const server = await fake(okHandler);
    const store = storeOn(server);
    const keys = Array.from({ length: 2500 }, (_, i) => `packs/00/${i}`);
    await store.deleteMany(keys);
    assert.deepEqual(server.requests.map((r) => `${r.method} ${r.query.has('delete')}`), ['POST true', 'POST true', 'POST true']);
    const counts = server.requests.map((r) => (r.body.toString().match(/<Key>/g) ?? []).length);
    assert.deepEqual(counts, [1000, 1000, 500]);
    assert.ok(server.requests[0].body.toString().includes('<Key>repo/packs/00/0</Key>'));
    for (const r of server.requests) assert.ok(Object.keys(r.headers).some((h) => h === 'content-md5' || h.startsWith('x-amz-checksum-')), 'DeleteObjects needs an integrity header');
  });

  it('reports keys DeleteObjects could not delete, and ignores ones already gone', TIMEOUT, async () => {
    const result = (errors: string) => ({ status: 200, headers: { 'content-type': 'application/xml' }, body: `<?xml version="1.0" encoding="UTF-8"?><DeleteResult>${errors}</DeleteResult>` });
    const gone = await fake(() => result('<Error><Key>repo/a</Key><Code>NoSuchKey</Code><Message>gone</Message></Error>'));
    await storeOn(gone).deleteMany(['a']);
    const denied = await fake(() => result('<Error><Key>repo/b</Key><Code>AccessDenied</Code><Message>Access Denied</Message></Error>'));
    await assert.rejects(storeOn(denied).deleteMany(['a', 'b']), (err: unknown) => {
      assert.ok(err instanceof StoreError && !err.retryable);
      assert.equal(err.key, 'b');
      assert.match(err.message, /1 of 2 keys .*AccessDenied/);
      return true;
    });
  });

  it('sends the range and checks the length of a ranged answer', TIMEOUT, async () => {
    const server = await fake((req) => ({ status: 206, headers: { 'content-range': 'bytes 10-14/100', etag: FAKE_ETAG }, body: req.headers.range === 'bytes=10-14' ? 'abcde' : 'wrong' }));
    const store = storeOn(server);
    assert.equal((await store.get('k', { range: { offset: 10, length: 5 } })).toString(), 'abcde');
    const short = await fake(() => ({ status: 206, headers: { 'content-range': 'bytes 95-99/100' }, body: 'abcde' }));
    await assert.rejects(storeOn(short).get('k', { range: { offset: 95, length: 10 } }), /range past end of k: offset 95 \+ length 10 > size 100/);
    const ignoring = await fake(() => ({ status: 200, body: '0123456789' }));
    assert.equal((await storeOn(ignoring).get('k', { range: { offset: 3, length: 4 } })).toString(), '3456', 'a 200 answer to a ranged get is the whole object');
    await assert.rejects(storeOn(ignoring).get('k', { range: { offset: 8, length: 4 } }), /range past end of k: offset 8 \+ length 4 > size 10/);
    const before = server.requests.length;
    await assert.rejects(store.get('k', { range: { offset: -1, length: 5 } }), (err: unknown) => err instanceof StoreError && err.key === 'k');
    assert.equal(server.requests.length, before, 'an invalid range must not be sent');
  });
});

describe('S3ObjectStore transient failures', () => {
  const slowDownTwice = (ok: FakeHandler): FakeHandler => (req, i) => (i < 2 ? s3Error(503, 'SlowDown', 'Please reduce your request rate.') : ok(req, i));
  const noWait = { sleep: async () => {}, maxAttempts: 5 };

  it('a put answered 503 SlowDown twice succeeds through RetryingObjectStore', TIMEOUT, async () => {
    const server = await fake(slowDownTwice(okHandler));
    const events: RetryEvent[] = [];
    const store = new RetryingObjectStore(storeOn(server), { ...noWait, onRetry: (e) => events.push(e) });
    await store.put('packs/ab/1', Buffer.from('data'), { kind: 'pack' });
    assert.equal(server.requests.length, 3, 'the store itself must not retry: the SDK client is built with one attempt');
    assert.equal(events.length, 2);
    for (const e of events) {
      assert.ok(e.error instanceof StoreError && e.error.retryable, String(e.error));
      assert.match(e.error.message, /SlowDown/);
      assert.ok(e.error.cause !== undefined);
    }
  });

  it('a get answered 500 InternalError twice succeeds through RetryingObjectStore', TIMEOUT, async () => {
    const server = await fake((_req, i) => (i < 2 ? s3Error(500, 'InternalError', 'We encountered an internal error.') : { status: 200, body: 'payload' }));
    const store = new RetryingObjectStore(storeOn(server), noWait);
    assert.equal((await store.get('k')).toString(), 'payload');
    assert.equal(server.requests.length, 3);
  });

  it('marks throttling, server errors and network failures retryable', TIMEOUT, async () => {
    const cases: Array<[string, FakeHandler]> = [
      ['503 SlowDown', () => s3Error(503, 'SlowDown', 'Please reduce your request rate.')],
      ['503 without a body', () => ({ status: 503 })],
      ['429', () => s3Error(429, 'TooManyRequests', 'slow down')],
      ['connection reset', () => 'destroy'],
    ];
    for (const [label, handler] of cases) {
      const store = storeOn(await fake(handler));
      for (const call of [() => store.put('k', Buffer.from('x')), () => store.get('k'), () => store.stat('k')]) {
        await assert.rejects(call(), (err: unknown) => {
          assert.ok(err instanceof StoreError && !(err instanceof ObjectNotFoundError), `${label}: ${String(err)}`);
          assert.equal(err.retryable, true, `${label}: ${err.message}`);
          assert.equal(err.key, 'k');
          return true;
        });
      }
    }
    const closed = await fake(okHandler);
    await closed.close();
    await assert.rejects(storeOn(closed).get('k'), (err: unknown) => err instanceof StoreError && err.retryable && /ECONNREFUSED/.test(err.message));
  });

  it('honours an AbortSignal during a slow request', TIMEOUT, async () => {
    const server = await fake(() => ({ status: 200, body: 'late', delayMs: 30_000 }));
    const store = storeOn(server);
    const started = Date.now();
    await assert.rejects(store.get('k', { signal: AbortSignal.timeout(200) }), AbortedError);
    await assert.rejects(store.put('k', Buffer.from('x'), { signal: AbortSignal.timeout(200) }), AbortedError);
    assert.ok(Date.now() - started < 20_000, 'abort did not end the requests');
  });
});

describe('S3ObjectStore permanent failures', () => {
  const noSecret = (err: unknown) => {
    const text = `${(err as Error).message}\n${inspect(err, { depth: 8 })}`;
    assert.ok(!text.includes(SECRET), 'the secret key appears in the error');
    assert.ok(!(err as Error).message.includes(ACCESS_KEY), 'the access key id appears in the message');
  };

  it('names a missing bucket and its region, without retrying', TIMEOUT, async () => {
    const server = await fake(() => s3Error(404, 'NoSuchBucket', 'The specified bucket does not exist', '<BucketName>my-bucket</BucketName>'));
    const store = storeOn(server);
    for (const call of [() => store.get('config'), () => store.put('config', Buffer.from('x')), () => store.delete('config'), () => Array.fromAsync(store.list(''))]) {
      await assert.rejects(call(), (err: unknown) => {
        assert.ok(err instanceof StoreError && !(err instanceof ObjectNotFoundError), String(err));
        assert.equal(err.retryable, false);
        assert.match(err.message, /^bucket my-bucket does not exist \(region eu-west-1\)/);
        assert.ok(err.cause !== undefined);
        noSecret(err);
        return true;
      });
    }
  });

  it('says the credentials are wrong or lack permission, naming the bucket and never the secret', TIMEOUT, async () => {
    const answers: Array<[string, FakeHandler]> = [
      ['AccessDenied', () => s3Error(403, 'AccessDenied', 'Access Denied')],
      ['InvalidAccessKeyId', () => s3Error(403, 'InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.', `<AWSAccessKeyId>${ACCESS_KEY}</AWSAccessKeyId>`)],
      ['SignatureDoesNotMatch', () => s3Error(403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided.', `<AWSAccessKeyId>${ACCESS_KEY}</AWSAccessKeyId><StringToSign>AWS4-HMAC-SHA256</StringToSign>`)],
      ['ExpiredToken', () => s3Error(400, 'ExpiredToken', 'The provided token has expired.')],
      ['HEAD 403 without a body', () => ({ status: 403 })],
    ];
    for (const [label, handler] of answers) {
      const store = storeOn(await fake(handler));
      // HEAD answers carry no error body: only the status tells, and S3 answers an expired token on HEAD with a bare 400.
      const calls: Array<() => Promise<unknown>> = label.startsWith('HEAD') ? [() => store.stat('config')] : [() => store.put('config', Buffer.from('x')), () => store.get('config')];
      if (label === 'AccessDenied') calls.push(() => store.stat('config'));
      for (const call of calls) {
        await assert.rejects(call(), (err: unknown) => {
          assert.ok(err instanceof StoreError && !(err instanceof ObjectNotFoundError), `${label}: ${String(err)}`);
          assert.equal(err.retryable, false, label);
          assert.match(err.message, /bucket my-bucket/, label);
          assert.match(err.message, /credentials are wrong or lack permission/, label);
          assert.ok(err.cause !== undefined);
          noSecret(err);
          return true;
        });
      }
    }
  });

  it('translates a missing key to ObjectNotFoundError and treats deleting it as success', TIMEOUT, async () => {
    const server = await fake((req) => (req.method === 'HEAD' ? { status: 404 } : s3Error(404, 'NoSuchKey', 'The specified key does not exist.')));
    const store = storeOn(server);
    await assert.rejects(store.get('index/x'), (err: unknown) => err instanceof ObjectNotFoundError && err.key === 'index/x' && err.cause !== undefined);
    await assert.rejects(store.stat('index/x'), ObjectNotFoundError);
    await store.delete('index/x');
  });
});
