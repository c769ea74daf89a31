// Policy plans (unsaved and stored), enable/disable and run now, through HTTP on the local server.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../core/clock.ts';
import { asAccountId } from '../../core/control/control-ids.ts';
import { A, assertError, startApi, type Api } from './api-fixture.ts';
import { FixedInventory, RecordingRunner, volumePolicy } from './fakes.ts';

const NOW = Date.UTC(2026, 0, 1, 12);
const HOUR = 3_600_000;

describe('policy plans, enable/disable and run now', () => {
  let api: Api;
  let runner: RecordingRunner;
  before(async () => {
    api = await startApi({
      deps: (store) => {
        runner = new RecordingRunner(store);
        return { inventory: new FixedInventory(), runner, clock: new ManualClock(NOW) };
      },
    });
  });
  after(async () => {
    await api.close();
  });

  it('plans an unsaved policy: selected resources, missing ids, next runs as ms', async () => {
    const res = await api.call('POST', `/accounts/${A}/policies/plan`, { body: volumePolicy(A) });
    assert.equal(res.status, 200, JSON.stringify(res.json));
    assert.deepEqual([res.json.valid, res.json.problems], [true, []]);
    const { plan } = res.json;
    assert.deepEqual(plan.selected.map((r: { id: string }) => r.id), [`vol-${A}`, 'vol-new']);
    assert.deepEqual(plan.selected[0], { provider: 'aws', account: A, region: 'eu-west-1', type: 'ebs-volume', id: `vol-${A}`, tags: { backup: 'daily' } });
    assert.deepEqual(plan.missingIds, ['vol-missing']);
    assert.deepEqual(plan.backup, { schedule: '0 2 * * *', timeZone: 'UTC', next: [1, 2, 3].map((d) => Date.UTC(2026, 0, 1 + d, 2)) });
    assert.deepEqual(plan.snapshots.next, [1, 2, 3].map((n) => NOW + n * 6 * HOUR));
  });

  it('answers an invalid or foreign unsaved policy with 200, valid false and every problem', async () => {
    const bad = await api.call('POST', `/accounts/${A}/policies/plan`, { body: volumePolicy(A, { regions: [], enabled: 'yes' }) });
    assert.equal(bad.status, 200);
    assert.equal(bad.json.valid, false);
    assert.equal(bad.json.plan, undefined);
    assert.deepEqual(bad.json.problems.map((p: { path: string }) => p.path).sort(), ['enabled', 'regions']);
    assert.match(bad.json.problems.find((p: { path: string }) => p.path === 'enabled').message, /"yes".*true or false|true or false.*"yes"/);
    const foreign = await api.call('POST', `/accounts/${A}/policies/plan`, { body: volumePolicy('210987654321') });
    assert.equal(foreign.json.valid, false);
    assert.deepEqual(foreign.json.problems.map((p: { path: string; message: string }) => [p.path, p.message]), [['account.id', `"210987654321" is not this account; expected "${A}"`]]);
    assertError(await api.call('POST', `/accounts/${A}/policies/plan`, { body: '[' }), 400, /JSON/);
  });

  it('plans a stored policy; 404 for an unknown one', async () => {
    assert.equal((await api.call('PUT', `/accounts/${A}/policies/volumes`, { body: { expectedVersion: 0, policy: volumePolicy(A) } })).status, 200);
    const res = await api.call('GET', `/accounts/${A}/policies/volumes/plan`);
    assert.equal(res.status, 200, JSON.stringify(res.json));
    assert.equal(res.json.valid, true);
    assert.deepEqual(res.json.plan.selected.map((r: { id: string }) => r.id), [`vol-${A}`, 'vol-new']);
    assertError(await api.call('GET', `/accounts/${A}/policies/nope/plan`), 404, /no policy "nope"/);
    assertError(await api.call('GET', `/accounts/${A}/policies/bad%23id/plan`), 400, /policy id "bad#id"/);
  });

  it('disables and enables a policy as new versions of its body', async () => {
    const off = await api.call('POST', `/accounts/${A}/policies/volumes/disable`);
    assert.equal(off.status, 200, JSON.stringify(off.json));
    assert.deepEqual([off.json.policy.version, off.json.policy.body.enabled], [2, false]);
    assert.equal((await api.call('GET', `/accounts/${A}/policies/volumes`)).json.policy.body.enabled, false);
    const on = await api.call('POST', `/accounts/${A}/policies/volumes/enable`);
    assert.deepEqual([on.json.policy.version, on.json.policy.body.enabled], [3, true]);
    assert.equal(on.json.policy.body.name, 'Volumes');
    assertError(await api.call('POST', `/accounts/${A}/policies/nope/disable`), 404);
  });

  it('runs a stored policy now, also when disabled: 202 with the session id', async () => {
    await api.call('POST', `/accounts/${A}/policies/volumes/disable`);
    const res = await api.call('POST', `/accounts/${A}/policies/volumes/run`);
    assert.equal(res.status, 202, JSON.stringify(res.json));
    assert.deepEqual(runner.runs, [{ account: A, policyId: 'volumes' }]);
    const session = await api.store.getSession(asAccountId(A), res.json.sessionId);
    assert.equal(session?.policyId, 'volumes');
    assertError(await api.call('POST', `/accounts/${A}/policies/nope/run`), 404);
    assert.equal(runner.runs.length, 1);
  });
});
