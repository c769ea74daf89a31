// The API through HTTP on the local server: every endpoint, bad input, auth and tenant isolation, restores.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { asAccountId, asPolicyId, asResourceId } from '../../core/control/control-ids.ts';
import { A, B, TOKEN_B, assertError, samplePolicy, startApi, type Api } from './api-fixture.ts';

async function poll(api: Api, path: string) {
  for (let i = 0; i < 200; i++) {
    const res = await api.call('GET', path);
    if (res.json.restore?.status !== 'running') return res;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('restore did not finish');
}

describe('API on the local server', () => {
  let api: Api;
  before(async () => {
    api = await startApi();
  });
  after(async () => {
    await api.close();
  });

  it('lists the accounts the caller may see, with a request id', async () => {
    const res = await api.call('GET', '/accounts');
    assert.equal(res.status, 200);
    assert.deepEqual(res.json.accounts, [{ id: A }]);
    assert.ok(res.requestIdHeader && res.json.requestId === res.requestIdHeader);
    const other = await api.call('GET', '/accounts');
    assert.notEqual(other.json.requestId, res.json.requestId);
  });

  it('puts, gets and lists policies with optimistic versions; 409 on conflict', async () => {
    const policy = await samplePolicy(A);
    const put = await api.call('PUT', `/accounts/${A}/policies/databases`, { body: { expectedVersion: 0, policy } });
    assert.equal(put.status, 200, JSON.stringify(put.json));
    assert.equal(put.json.policy.version, 1);
    const stale = await api.call('PUT', `/accounts/${A}/policies/databases`, { body: { expectedVersion: 0, policy } });
    assertError(stale, 409, /conflict/);
    const put2 = await api.call('PUT', `/accounts/${A}/policies/databases`, { body: { expectedVersion: 1, policy: { ...policy, name: 'Renamed' } } });
    assert.equal(put2.json.policy.version, 2);
    const got = await api.call('GET', `/accounts/${A}/policies/databases`);
    assert.equal(got.status, 200);
    assert.equal(got.json.policy.name, 'Renamed');
    const list = await api.call('GET', `/accounts/${A}/policies`);
    assert.deepEqual(list.json.policies.map((p: { id: string }) => p.id), ['databases']);
    assertError(await api.call('GET', `/accounts/${A}/policies/nope`), 404);
  });

  it('rejects invalid policies with 400 and validates returning all problems', async () => {
    const bad = { ...(await samplePolicy(A)), regions: [], id: 'Bad Id' };
    assertError(await api.call('PUT', `/accounts/${A}/policies/databases`, { body: { expectedVersion: 2, policy: bad } }), 400, /problems|region/);
    const mismatch = await api.call('PUT', `/accounts/${A}/policies/other`, { body: { expectedVersion: 0, policy: await samplePolicy(A) } });
    assertError(mismatch, 400, /policy\.id/);
    const v = await api.call('POST', `/accounts/${A}/policies/validate`, { body: bad });
    assert.equal(v.status, 200);
    assert.equal(v.json.valid, false);
    assert.ok(v.json.problems.length >= 2, JSON.stringify(v.json.problems));
    const ok = await api.call('POST', `/accounts/${A}/policies/validate`, { body: await samplePolicy(A) });
    assert.deepEqual([ok.json.valid, ok.json.problems], [true, []]);
    assertError(await api.call('POST', `/accounts/${A}/policies/validate`, { body: '{not json' }), 400, /JSON/);
    assertError(await api.call('PUT', `/accounts/${A}/policies/databases`, { body: { expectedVersion: -1, policy: {} } }), 400, /expectedVersion/);
  });

  it('pages sessions with the store cursor and shows a session with its tasks', async () => {
    const acc = asAccountId(A);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await api.store.createSession(acc, asPolicyId('databases'))).id);
    await api.store.putTask(acc, ids[0] as never, { resourceId: asResourceId('vol-1') });
    const first = await api.call('GET', `/accounts/${A}/sessions?limit=2`);
    assert.equal(first.json.sessions.length, 2);
    assert.ok(first.json.next);
    const second = await api.call('GET', `/accounts/${A}/sessions?limit=2&cursor=${encodeURIComponent(first.json.next)}`);
    assert.equal(second.json.sessions.length, 1);
    assert.equal(second.json.next, undefined);
    assert.deepEqual([...first.json.sessions, ...second.json.sessions].map((s: { id: string }) => s.id).sort(), [...ids].sort());
    const one = await api.call('GET', `/accounts/${A}/sessions/${ids[0]}`);
    assert.equal(one.json.session.id, ids[0]);
    assert.deepEqual(one.json.tasks.map((t: { resourceId: string }) => t.resourceId), ['vol-1']);
    assertError(await api.call('GET', `/accounts/${A}/sessions?limit=0`), 400, /limit/);
    assertError(await api.call('GET', `/accounts/${A}/sessions?cursor=forged`), 400);
    assertError(await api.call('GET', `/accounts/${A}/sessions/not-a-session`), 400, /session id/);
    assertError(await api.call('GET', `/accounts/${A}/sessions/000000000-0000000000000000`), 404);
  });

  it('lists only the account\'s restore points', async () => {
    const res = await api.call('GET', `/accounts/${A}/restore-points`);
    assert.deepEqual(res.json.restorePoints.map((p: { id: string }) => p.id), [api.pointA.id]);
    const p = res.json.restorePoints[0];
    assert.deepEqual([p.kind, p.parent, p.size, p.finishedAt], ['full', null, api.image.length, api.pointA.finishedAt]);
  });

  it('restores a local image end to end, polled to completion', async () => {
    const start = await api.call('POST', `/accounts/${A}/restores`, { body: { pointId: api.pointA.id, disk: 'root', targetPath: 'out/a.img' } });
    assert.equal(start.status, 202, JSON.stringify(start.json));
    const done = await poll(api, `/accounts/${A}/restores/${start.json.restore.id}`);
    assert.equal(done.json.restore.status, 'succeeded');
    assert.equal(done.json.restore.targetPath, join('out', 'a.img'));
    assert.equal(done.json.restore.bytesDone, api.image.length);
    assert.equal(done.json.restore.bytesTotal, api.image.length);
    assert.ok(done.json.restore.result.bytesWritten > 0);
    assert.ok((await readFile(join(api.restoreDir, 'out/a.img'))).equals(api.image));
    assertError(await api.call('POST', `/accounts/${A}/restores`, { body: { pointId: api.pointA.id, disk: 'root', targetPath: 'out/a.img' } }), 409);
  });

  it('rejects restores outside the restore dir, of unknown points or disks', async () => {
    for (const targetPath of ['../escape.img', '/tmp/x.img', '.']) {
      assertError(await api.call('POST', `/accounts/${A}/restores`, { body: { pointId: api.pointA.id, disk: 'root', targetPath } }), 400, /targetPath/);
    }
    assertError(await api.call('POST', `/accounts/${A}/restores`, { body: { pointId: 'nope', disk: 'root', targetPath: 'n.img' } }), 404);
    assertError(await api.call('POST', `/accounts/${A}/restores`, { body: { pointId: api.pointA.id, disk: 'data', targetPath: 'n.img' } }), 400, /no disk/);
    assertError(await api.call('POST', `/accounts/${A}/restores`, { body: { pointId: api.pointA.id } }), 400, /targetPath/);
    // Account A cannot restore B's point through its own account either.
    assertError(await api.call('POST', `/accounts/${A}/restores`, { body: { pointId: api.pointB.id, disk: 'root', targetPath: 'b.img' } }), 404);
  });

  it('answers 404 for unknown routes and 401 without a valid token', async () => {
    assertError(await api.call('GET', '/nope'), 404);
    assertError(await api.call('DELETE', '/accounts'), 404);
    assertError(await api.call('GET', '/accounts', { token: null }), 401);
    assertError(await api.call('GET', `/accounts/${A}/policies`, { token: 'x'.repeat(40) }), 401);
  });

  it('forbids every route of account B to a user of account A, whether or not B exists', async () => {
    const s = await api.store.createSession(asAccountId(B), asPolicyId('databases'));
    await api.call('PUT', `/accounts/${B}/policies/databases`, { token: TOKEN_B, body: { expectedVersion: 0, policy: await samplePolicy(B) } });
    const bRoutes: Array<[string, string, unknown?]> = [
      ['GET', `/accounts/${B}/policies`],
      ['GET', `/accounts/${B}/policies/databases`],
      ['PUT', `/accounts/${B}/policies/databases`, { expectedVersion: 1, policy: await samplePolicy(B) }],
      ['POST', `/accounts/${B}/policies/validate`, {}],
      ['GET', `/accounts/${B}/sessions`],
      ['GET', `/accounts/${B}/sessions/${s.id}`],
      ['GET', `/accounts/${B}/restore-points`],
      ['POST', `/accounts/${B}/restores`, { pointId: api.pointB.id, disk: 'root', targetPath: 'steal.img' }],
      ['GET', `/accounts/${B}/restores/anything`],
    ];
    for (const account of [B, '999999999999']) {
      for (const [method, path, body] of bRoutes) {
        const res = await api.call(method, path.replace(B, account), { body });
        assertError(res, 403, /^access denied$/);
      }
    }
    // B itself sees its data, A's listing never showed it.
    assert.equal((await api.call('GET', `/accounts/${B}/restore-points`, { token: TOKEN_B })).json.restorePoints[0].id, api.pointB.id);
    assert.equal((await api.call('GET', `/accounts/${B}/policies/databases`, { token: TOKEN_B })).status, 200);
  });
});
