// S3ObjectStore's ObjectLocker role on the wire: HeadObject for the retain-until date, PutObjectRetention to extend it.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { ManualClock } from '../../core/clock.ts';
import { isObjectLocker, UnsupportedOperationError } from '../../core/store/object-store.ts';
import { S3ObjectStore } from '../../providers/aws/s3-object-store.ts';
import { okHandler, startFakeS3, type FakeS3 } from '../support/fake-s3-server.ts';

const servers: FakeS3[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
});
const credentials = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'secret-example' };

describe('S3ObjectStore object lock', () => {
  it('reads ObjectLockRetainUntilDate and extends with PutObjectRetention in the configured mode', { timeout: 60_000 }, async () => {
    const until = Date.UTC(2026, 6, 1, 8, 0, 0);
    const server = await startFakeS3((req, i) =>
      req.method === 'HEAD'
        ? { status: 200, headers: { 'content-length': '5', 'x-amz-object-lock-mode': 'COMPLIANCE', 'x-amz-object-lock-retain-until-date': new Date(until).toISOString() } }
        : okHandler(req, i),
    );
    servers.push(server);
    const clock = new ManualClock(Date.UTC(2026, 4, 1));
    const store = new S3ObjectStore({ bucket: 'my-bucket', prefix: 'repo', region: 'eu-west-1', endpoint: server.endpoint, credentials, objectLock: { mode: 'COMPLIANCE', days: 30 }, clock });
    assert.ok(isObjectLocker(store));
    assert.deepEqual(await store.retention('packs/ab/abcdef'), { retainUntil: until });
    const extended = Date.UTC(2026, 7, 15, 12, 30, 0);
    await store.extendRetention('packs/ab/abcdef', extended);
    await store.put('markers/1-x', Buffer.from('m'), { kind: 'marker' });
    const [head, retention, marker] = server.requests;
    assert.equal(`${head.method} ${head.path}`, 'HEAD /my-bucket/repo/packs/ab/abcdef');
    assert.equal(`${retention.method} ${retention.path}`, 'PUT /my-bucket/repo/packs/ab/abcdef');
    assert.ok(retention.query.has('retention'), 'a PutObjectRetention request');
    const body = retention.body.toString('utf8');
    assert.match(body, /<Mode>COMPLIANCE<\/Mode>/);
    const date = /<RetainUntilDate>([^<]+)<\/RetainUntilDate>/.exec(body)?.[1];
    assert.equal(Date.parse(date ?? ''), extended);
    assert.equal(marker.headers['x-amz-object-lock-mode'], undefined, 'markers and leases are never locked');
  });

  it('refuses to extend without Object Lock configured', async () => {
    const store = new S3ObjectStore({ bucket: 'my-bucket', region: 'eu-west-1', endpoint: 'http://127.0.0.1:1', credentials });
    await assert.rejects(store.extendRetention('packs/ab/x', Date.now()), UnsupportedOperationError);
  });
});
