// Tenant isolation of the console endpoints: 403 on another account's paths, 404 for another account's ids; 501 without components.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { asAccountId, asPolicyId } from '../../core/control/control-ids.ts';
import { MemoryControlStore } from '../../providers/memory/memory-control-store.ts';
import { TokenAuthenticator } from '../../functions/api/auth.ts';
import { startLocalServer } from '../../functions/api/local-server.ts';
import { buildApi } from '../../functions/api/routes.ts';
import { A, B, TOKEN_A, TOKEN_B, assertError, startApi, type Api } from './api-fixture.ts';
import { FixedInventory, FixedSnapshots, RecordingRunner, volumePolicy } from './fakes.ts';

/** Every console endpoint of `account`, with ids that exist in B. */
function routes(account: string, ids: { session: string; restore: string }): Array<[string, string, unknown?]> {
  return [
    ['POST', `/accounts/${account}/policies/plan`, volumePolicy(account)],
    ['GET', `/accounts/${account}/policies/b-only/plan`],
    ['POST', `/accounts/${account}/policies/b-only/enable`],
    ['POST', `/accounts/${account}/policies/b-only/disable`],
    ['POST', `/accounts/${account}/policies/b-only/run`],
    ['GET', `/accounts/${account}/resources`],
    ['GET', `/accounts/${account}/overview`],
    ['GET', `/accounts/${account}/resources/vol-${B}/timeline`],
    ['GET', `/accounts/${account}/sessions/${ids.session}/log`],
    ['GET', `/accounts/${account}/repository`],
    ['GET', `/accounts/${account}/restores`],
    ['POST', `/accounts/${account}/restores/${ids.restore}/cancel`],
  ];
}

describe('console endpoints and tenants', () => {
  let api: Api;
  let runner: RecordingRunner;
  let ids: { session: string; restore: string };
  before(async () => {
    api = await startApi({
      deps: (store) => {
        runner = new RecordingRunner(store);
        return { inventory: new FixedInventory(), runner, snapshots: new FixedSnapshots() };
      },
    });
    await api.call('PUT', `/accounts/${B}/policies/b-only`, { token: TOKEN_B, body: { expectedVersion: 0, policy: volumePolicy(B, { id: 'b-only' }) } });
    const session = await api.store.createSession(asAccountId(B), asPolicyId('b-only'));
    const restore = await api.call('POST', `/accounts/${B}/restores`, { token: TOKEN_B, body: { pointId: api.pointB.id, targetPath: 'b.img' } });
    ids = { session: session.id, restore: restore.json.restore.id };
  });
  after(async () => {
    await api.close();
  });

  it('answers 403 to account A on every endpoint of account B, or of an account that does not exist', async () => {
    for (const account of [B, '999999999999']) {
      for (const [method, path, body] of routes(account, ids)) assertError(await api.call(method, path, { body, token: TOKEN_A }), 403, /^access denied$/);
    }
    assert.equal(runner.runs.length, 0);
  });

  it("answers 404 to account A for B's policies, resources, sessions and restores on A's own paths", async () => {
    const notFound = routes(A, ids).filter(([, path]) => /b-only|timeline|\/log|cancel/.test(path));
    assert.equal(notFound.length, 7);
    for (const [method, path, body] of notFound) assertError(await api.call(method, path, { body }), 404);
    assertError(await api.call('GET', `/accounts/${A}/restores/${ids.restore}`), 404);
    assert.deepEqual((await api.call('GET', `/accounts/${A}/restores`)).json.restores, []);
    assert.equal(runner.runs.length, 0);
    // B sees its own.
    assert.equal((await api.call('GET', `/accounts/${B}/restores`, { token: TOKEN_B })).json.restores[0].id, ids.restore);
    assert.equal((await api.call('GET', `/accounts/${B}/sessions/${ids.session}/log`, { token: TOKEN_B })).status, 200);
  });
});

describe('a server without inventory, runner, repository or restores', () => {
  it('answers 501 naming what is missing, and still validates and lists', async () => {
    const store = new MemoryControlStore();
    const server = await startLocalServer(buildApi({ authenticator: new TokenAuthenticator({ [TOKEN_A]: { principal: 'a', accounts: [A] } }), store }));
    try {
      const call = async (method: string, path: string, body?: unknown) => {
        const res = await fetch(`${server.url}${path}`, { method, headers: { authorization: `Bearer ${TOKEN_A}` }, body: body === undefined ? undefined : JSON.stringify(body) });
        return { status: res.status, requestIdHeader: res.headers.get('x-request-id'), json: (await res.json()) as Record<string, any> };
      };
      await call('PUT', `/accounts/${A}/policies/volumes`, { expectedVersion: 0, policy: volumePolicy(A) });
      assertError(await call('POST', `/accounts/${A}/policies/plan`, volumePolicy(A)), 501, /^planning is not available on this server: it was started without an inventory/);
      assertError(await call('GET', `/accounts/${A}/policies/volumes/plan`), 501, /planning/);
      assertError(await call('POST', `/accounts/${A}/policies/volumes/run`), 501, /^run now is not available on this server/);
      assertError(await call('GET', `/accounts/${A}/resources`), 501, /resource list/);
      assertError(await call('GET', `/accounts/${A}/overview`), 501, /overview/);
      assertError(await call('GET', `/accounts/${A}/resources/vol-1/timeline`), 501, /timeline/);
      assertError(await call('GET', `/accounts/${A}/repository`), 501, /repository status is not available on this server: start it with a repository/);
      assertError(await call('GET', `/accounts/${A}/restores`), 501, /^the restore service is not available on this server: start it with a repository$/);
      const invalid = await call('POST', `/accounts/${A}/policies/plan`, { id: 'x' });
      assert.deepEqual([invalid.status, invalid.json.valid], [200, false]);
      assert.deepEqual((await call('GET', `/accounts/${A}/restore-points`)).json.restorePoints, []);
      assert.equal((await call('POST', `/accounts/${A}/policies/volumes/disable`)).json.policy.body.enabled, false);
    } finally {
      await server.close();
    }
  });
});
