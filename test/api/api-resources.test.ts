// Resources and their RPO, the overview, a resource's timeline and the repository status, through HTTP.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../core/clock.ts';
import { asAccountId, asPolicyId } from '../../core/control/control-ids.ts';
import { LockingObjectStore } from '../support/locking-object-store.ts';
import { A, B, assertError, startApi, type Api } from './api-fixture.ts';
import { FixedInventory, FixedSnapshots, volumePolicy } from './fakes.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

describe('resources, overview, timeline and repository', () => {
  let api: Api;
  const clock = new ManualClock();
  const snapshots = new FixedSnapshots();
  let pointAt: number;
  before(async () => {
    api = await startApi({ deps: { inventory: new FixedInventory(), snapshots, clock } });
    pointAt = Date.parse(api.pointA.finishedAt);
    clock.set(pointAt + 12 * HOUR);
    await api.call('PUT', `/accounts/${A}/policies/volumes`, { body: { expectedVersion: 0, policy: volumePolicy(A) } });
  });
  after(async () => {
    await api.close();
  });

  it('lists resources with the enabled policies selecting them, the newest restore point and the RPO', async () => {
    const res = await api.call('GET', `/accounts/${A}/resources`);
    assert.equal(res.status, 200, JSON.stringify(res.json));
    const [backedUp, fresh, other] = res.json.resources;
    assert.deepEqual(backedUp, {
      provider: 'aws', account: A, region: 'eu-west-1', type: 'ebs-volume', id: `vol-${A}`, tags: { backup: 'daily' },
      policies: ['volumes'], protected: true,
      lastRestorePoint: { id: api.pointA.id, finishedAt: pointAt },
      rpo: { promisedMs: DAY, ageMs: 12 * HOUR, ok: true },
    });
    assert.deepEqual([fresh.id, fresh.protected, fresh.lastRestorePoint, fresh.rpo], ['vol-new', true, undefined, { promisedMs: DAY, ageMs: null, ok: false }]);
    assert.deepEqual([other.id, other.protected, other.policies, other.rpo], ['vol-other', false, [], undefined]);
  });

  it('sums up the account in the overview: counts, RPO violations, last sessions, repository', async () => {
    const acc = asAccountId(A);
    const first = await api.store.createSession(acc, asPolicyId('volumes'));
    await api.store.updateSession(acc, first.id, { status: 'succeeded' });
    // Session ids order by their millisecond only.
    await new Promise((r) => setTimeout(r, 5));
    const newest = await api.store.createSession(acc, asPolicyId('volumes'));
    clock.set(pointAt + DAY + HOUR);
    const res = await api.call('GET', `/accounts/${A}/overview`);
    assert.equal(res.status, 200, JSON.stringify(res.json));
    assert.deepEqual([res.json.protectedCount, res.json.unprotectedCount], [2, 1]);
    assert.deepEqual(res.json.rpoViolations, [
      { resourceId: `vol-${A}`, ageMs: DAY + HOUR, promisedMs: DAY },
      { resourceId: 'vol-new', ageMs: null, promisedMs: DAY },
    ]);
    assert.deepEqual(res.json.lastSessions.map((s: { policyId: string; session: { id: string } }) => [s.policyId, s.session.id]), [['volumes', newest.id]]);
    assert.equal(res.json.repository.restorePoints, 1);
    clock.set(pointAt + 12 * HOUR);
  });

  it('counts nothing as protected by a disabled policy', async () => {
    await api.call('POST', `/accounts/${A}/policies/volumes/disable`);
    const res = await api.call('GET', `/accounts/${A}/overview`);
    assert.deepEqual([res.json.protectedCount, res.json.unprotectedCount, res.json.rpoViolations], [0, 3, []]);
    assert.equal(res.json.lastSessions[0].policyId, 'volumes');
    await api.call('POST', `/accounts/${A}/policies/volumes/enable`);
  });

  it('shows a resource timeline: Cloudkeep snapshots and restore points with their chain position', async () => {
    const second = await api.backup(A, { parent: api.pointA });
    const third = await api.backup(A, { parent: second });
    const res = await api.call('GET', `/accounts/${A}/resources/vol-${A}/timeline`);
    assert.equal(res.status, 200, JSON.stringify(res.json));
    assert.equal(res.json.resourceId, `vol-${A}`);
    assert.deepEqual(snapshots.asked, [{ account: A, target: { type: 'ebs-volume', id: `vol-${A}`, region: 'eu-west-1' } }]);
    assert.deepEqual(res.json.snapshots, [
      { id: 'snap-1', volumeId: `vol-${A}`, status: 'completed', startTime: 1_000 },
      { id: 'snap-2', volumeId: `vol-${A}`, status: 'pending', startTime: 2_000 },
    ]);
    const points = res.json.restorePoints.map((p: { id: string; kind: string; parent: string | null; chainPosition: number; chainLength: number }) => [p.id, p.kind, p.parent, p.chainPosition, p.chainLength]);
    assert.deepEqual(points, [
      [api.pointA.id, 'full', null, 0, 3],
      [second.id, 'incremental', api.pointA.id, 1, 3],
      [third.id, 'incremental', second.id, 2, 3],
    ]);
    assert.equal(res.json.restorePoints[0].size, api.image.length);
    const none = await api.call('GET', `/accounts/${A}/resources/vol-new/timeline`);
    assert.deepEqual([none.status, none.json.restorePoints, none.json.snapshots.length], [200, [], 2]);
    assertError(await api.call('GET', `/accounts/${A}/resources/vol-nope/timeline`), 404, /no resource "vol-nope" in account/);
    assertError(await api.call('GET', `/accounts/${A}/resources/vol-${B}/timeline`), 404);
  });

  it('shows each restore point\'s lock on a repository with Object Lock', async () => {
    const lockClock = new ManualClock(Date.UTC(2026, 10, 1));
    const locked = await startApi({ objectStore: new LockingObjectStore({ clock: lockClock, days: 7 }), deps: { inventory: new FixedInventory(), snapshots } });
    try {
      const res = await locked.call('GET', `/accounts/${A}/resources/vol-${A}/timeline`);
      assert.equal(res.status, 200, JSON.stringify(res.json));
      assert.deepEqual(res.json.restorePoints.map((p: { storage: unknown }) => p.storage), [{ lockedUntil: Date.UTC(2026, 10, 1) + 7 * DAY, tiers: null }]);
    } finally {
      await locked.close();
    }
  });

  it('reports the repository status of the account: sizes, reduction, points, no verify record', async () => {
    const all = (await api.call('GET', `/accounts/${A}/restore-points`)).json.restorePoints as Array<{ size: number; storedBytes: number }>;
    const res = await api.call('GET', `/accounts/${A}/repository`);
    assert.equal(res.status, 200, JSON.stringify(res.json));
    const { repository } = res.json;
    const logical = all.reduce((s, p) => s + p.size, 0);
    const stored = all.reduce((s, p) => s + p.storedBytes, 0);
    assert.deepEqual(repository, { url: repository.url, logicalBytes: logical, storedBytes: stored, reductionRatio: logical / stored, restorePoints: all.length, lastVerify: null });
    assert.equal(all.length, 3);
    assert.ok(logical > stored, 'incrementals of the same image dedup');
    assert.equal(typeof repository.url, 'string');
  });
});
