// Restores of the AWS kinds through the API: the real SFN client against the Step Functions test server, the
// restore state machine's executions as restore jobs (start, status, result, cancel), per-account isolation, bad bodies.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { asAccountId, asPolicyId } from '../../core/control/control-ids.ts';
import type { JsonObject } from '../../core/control/control-store.ts';
import { instanceConfigTags } from '../../core/orchestration/instance-config.ts';
import type { Manifest } from '../../core/repo/manifest.ts';
import { SfnRestoreService } from '../../functions/api/aws-restores.ts';
import { SfnTestServer } from '../support/sfn-test-server.ts';
import { A, assertError, B, startApi, TOKEN_B, type Api } from './api-fixture.ts';
import { volumePolicy } from './fakes.ts';

const MACHINE = 'arn:aws:states:eu-west-1:111122223333:stateMachine:cloudkeep-restore';
const POLICY_TAG = { 'cloudkeep:policy': 'volumes' };
const worker = { instanceSize: [{ upToGiB: 100, type: 'm7g.large' }], subnets: { 'eu-west-1': ['subnet-0b0b0b0b'] }, spotAllowed: false };
const config = {
  instanceType: 't3.small', subnetId: 'subnet-0a0a0a0a', securityGroupIds: ['sg-0a0a0a0a'], availabilityZone: 'eu-west-1a', architecture: 'x86_64',
  rootDeviceName: '/dev/xvda', enaSupport: true, devices: { 'vol-1': '/dev/xvda', 'vol-2': '/dev/xvdf' }, tags: { Name: 'web-1' },
};

let sfn: SfnTestServer;
let api: Api;
let volumePoint: Manifest;
let instancePoint: Manifest;

before(async () => {
  sfn = await SfnTestServer.start();
  api = await startApi({ deps: (store, repo) => ({ restores: new SfnRestoreService({ sfn: sfn.client(), stateMachineArn: MACHINE, store, repo }) }) });
  for (const account of [A, B]) {
    await api.store.putPolicy(asAccountId(account), { id: asPolicyId('volumes'), name: 'Volumes', body: volumePolicy(account, { worker }) as JsonObject }, 0);
  }
  volumePoint = await api.backup(A, { resourceId: 'vol-tagged', tags: POLICY_TAG });
  instancePoint = await api.backup(A, { resourceId: 'i-0abc', kind: 'instance', disks: ['vol-1', 'vol-2'], tags: { ...POLICY_TAG, ...instanceConfigTags(config) } });
});

after(async () => {
  await api?.close();
  await sfn?.close();
});

const executionArn = (id: string) => `${MACHINE.replace(':stateMachine:', ':execution:')}:${id}`;
const inputOf = (id: string) => JSON.parse(sfn.executions.get(executionArn(id))!.input) as Record<string, unknown>;
const target = { region: 'eu-west-1' };

describe('AWS restores: capabilities and restore points', () => {
  it('GET /capabilities offers the AWS kinds, not image files', async () => {
    const res = await api.call('GET', '/capabilities');
    assert.equal(res.status, 200);
    assert.deepEqual({ ...res.json, requestId: undefined }, {
      auth: 'token', runNow: false, planning: false, restores: { image: false, ebsVolume: true, instance: true, snapshot: true }, requestId: undefined,
    });
  });

  it('each restore point lists the kinds it supports: instance only with the recorded configuration, none without its policy', async () => {
    const res = await api.call('GET', `/accounts/${A}/restore-points`);
    const kinds = Object.fromEntries((res.json.restorePoints as Array<{ id: string; restoreKinds: string[] }>).map((p) => [p.id, p.restoreKinds]));
    assert.deepEqual(kinds[volumePoint.id], ['snapshot', 'ebs-volume']);
    assert.deepEqual(kinds[instancePoint.id], ['snapshot', 'ebs-volume', 'instance']);
    assert.deepEqual(kinds[api.pointA.id], [], 'the fixture point records no policy');
  });
});

describe('AWS restores: executions of the restore state machine', () => {
  it('an ebs-volume restore starts an execution named by the restore id; running, then succeeded with its volumes', async () => {
    const started = await api.call('POST', `/accounts/${A}/restores`, { body: { kind: 'ebs-volume', pointId: volumePoint.id, target, volume: { availabilityZone: 'eu-west-1b' } } });
    assert.equal(started.status, 202, JSON.stringify(started.json));
    const job = started.json.restore;
    assert.equal(job.kind, 'ebs-volume');
    assert.equal(job.status, 'running');
    assert.deepEqual(inputOf(job.id), { account: A, policyId: 'volumes', pointId: volumePoint.id, target, volume: { availabilityZone: 'eu-west-1b', volumeType: 'gp3' } });
    assert.equal((await api.call('GET', `/accounts/${A}/restores/${job.id}`)).json.restore.status, 'running');

    sfn.finish(executionArn(job.id), { status: 'SUCCEEDED', output: {
      restore: { mode: 'volume' }, restored: { pointId: volumePoint.id, snapshots: [{ disk: 'root', snapshotId: 'snap-r1', sizeGiB: 2, volumeId: 'vol-tagged' }] },
      volumes: { volumeIds: ['vol-new1'], available: true },
    } });
    const done = (await api.call('GET', `/accounts/${A}/restores/${job.id}`)).json.restore;
    assert.equal(done.status, 'succeeded');
    assert.deepEqual(done.result, { region: 'eu-west-1', snapshots: [{ disk: 'root', snapshotId: 'snap-r1' }], volumes: [{ disk: 'root', volumeId: 'vol-new1', availabilityZone: 'eu-west-1b' }] });
    assert.equal(done.bytesTotal, 2 * 1024 ** 3);
    assert.equal(typeof done.endedAt, 'number');
    assert.equal(done.error, null);
  });

  it('an instance restore asks the state machine to relaunch the instance and reports it', async () => {
    const started = await api.call('POST', `/accounts/${A}/restores`, { body: { kind: 'instance', pointId: instancePoint.id, target } });
    assert.equal(started.status, 202, JSON.stringify(started.json));
    const { id } = started.json.restore;
    assert.deepEqual(inputOf(id).instance, {}, 'an instance section, even empty, selects the instance mode');
    sfn.finish(executionArn(id), { status: 'SUCCEEDED', output: {
      restored: { snapshots: [{ disk: 'vol-1', snapshotId: 'snap-1', sizeGiB: 1, volumeId: 'vol-1' }, { disk: 'vol-2', snapshotId: 'snap-2', sizeGiB: 1, volumeId: 'vol-2' }] },
      instance: { instanceId: 'i-0new', imageId: 'ami-0new' },
    } });
    const done = (await api.call('GET', `/accounts/${A}/restores/${id}`)).json.restore;
    assert.equal(done.kind, 'instance');
    assert.equal(done.result.instanceId, 'i-0new');
    assert.equal(done.result.imageId, 'ami-0new');
    assert.deepEqual(done.result.snapshots.map((s: { snapshotId: string }) => s.snapshotId), ['snap-1', 'snap-2']);
  });

  it('a failed execution is a failed restore with the handler message (no trace), or the cause as given', async () => {
    const start = async () => (await api.call('POST', `/accounts/${A}/restores`, { body: { kind: 'snapshot', pointId: volumePoint.id, disks: ['root'], target } })).json.restore.id as string;
    const lambda = await start();
    sfn.finish(executionArn(lambda), { status: 'FAILED', error: 'Cloudkeep.InvalidInput', cause: JSON.stringify({ errorType: 'Cloudkeep.InvalidInput', errorMessage: 'restore point x belongs to account y', trace: ['at secret.ts:1'] }) });
    const failed = (await api.call('GET', `/accounts/${A}/restores/${lambda}`)).json.restore;
    assert.equal(failed.status, 'failed');
    assert.equal(failed.error, 'restore point x belongs to account y');
    assert.equal(failed.result, null);
    const plain = await start();
    sfn.finish(executionArn(plain), { status: 'FAILED', error: 'Cloudkeep.VolumeTimeout', cause: 'the restored volumes were not available within 80 status checks' });
    assert.equal((await api.call('GET', `/accounts/${A}/restores/${plain}`)).json.restore.error, 'the restored volumes were not available within 80 status checks');
    const timedOut = await start();
    sfn.finish(executionArn(timedOut), { status: 'TIMED_OUT' });
    assert.equal((await api.call('GET', `/accounts/${A}/restores/${timedOut}`)).json.restore.status, 'failed');
  });

  it('cancel stops the execution (ABORTED: cancelled); a second cancel is a conflict', async () => {
    const { id } = (await api.call('POST', `/accounts/${A}/restores`, { body: { kind: 'snapshot', pointId: volumePoint.id, target } })).json.restore;
    const cancelled = await api.call('POST', `/accounts/${A}/restores/${id}/cancel`);
    assert.equal(cancelled.status, 200, JSON.stringify(cancelled.json));
    assert.equal(cancelled.json.restore.status, 'cancelled');
    const execution = sfn.executions.get(executionArn(id))!;
    assert.equal(execution.status, 'ABORTED');
    assert.equal(execution.error, 'Cloudkeep.Cancelled');
    assertError(await api.call('POST', `/accounts/${A}/restores/${id}/cancel`), 409, /it is cancelled: only a running restore can be cancelled/);
  });

  it("lists the account's restores newest first; another tenant sees none of them and gets 404 for their ids", async () => {
    const mine = (await api.call('GET', `/accounts/${A}/restores`)).json.restores as Array<{ id: string; account: string; createdAt: number }>;
    assert.ok(mine.length >= 5);
    assert.ok(mine.every((j) => j.account === A));
    const started = [...sfn.executions.values()].map((e) => e.name).reverse();
    assert.deepEqual(mine.map((j) => j.id), started);
    const theirs = await api.call('GET', `/accounts/${B}/restores`, { token: TOKEN_B });
    assert.deepEqual(theirs.json.restores, []);
    assertError(await api.call('GET', `/accounts/${B}/restores/${mine[0].id}`, { token: TOKEN_B }), 404, /no restore/);
    assertError(await api.call('POST', `/accounts/${B}/restores/${mine[0].id}/cancel`, { token: TOKEN_B }), 404);
    assertError(await api.call('GET', `/accounts/${A}/restores/${mine[0].id}`, { token: TOKEN_B }), 403);
    assertError(await api.call('GET', `/accounts/${A}/restores/not:an-execution`), 404);
    assertError(await api.call('GET', `/accounts/${A}/restores/00000000-0000-0000-0000-000000000000`), 404);
  });
});

describe('AWS restores: bad requests name what is wrong', () => {
  const post = (body: unknown) => api.call('POST', `/accounts/${A}/restores`, { body });
  const point = () => volumePoint.id;

  it('answers 400 naming the field, before starting anything', async () => {
    const before = sfn.executions.size;
    assertError(await post({ kind: 'ebs-volume', pointId: point(), target }), 400, /volume: /);
    assertError(await post({ kind: 'teleport', pointId: point(), target }), 400, /kind: expected one of image, snapshot, ebs-volume, instance/);
    assertError(await post({ kind: 'snapshot', pointId: point(), target: { region: 'mars' } }), 400, /target\.region: expected an AWS region/);
    assertError(await post({ kind: 'snapshot', pointId: point(), target, colour: 'red' }), 400, /Unrecognized key: "colour"/);
    assertError(await post({ kind: 'ebs-volume', pointId: point(), target, volume: { availabilityZone: 'eu-west-1b', sizeGiB: -1 } }), 400, /volume\.sizeGiB/);
    assertError(await post({ kind: 'instance', pointId: point(), target, instance: { subnetId: 'net-1' } }), 400, /instance\.subnetId: expected a subnet id/);
    assertError(await post({ pointId: point(), targetPath: 'x.img' }), 400, /kind "image": this server restores snapshot, ebs-volume, instance/);
    assertError(await post({ kind: 'snapshot', pointId: point(), disks: ['data'], target }), 400, /disks: restore point .* has no disk data; it has root/);
    assertError(await post({ kind: 'instance', pointId: point(), target }), 400, /does not record its instance's configuration/);
    assertError(await post({ kind: 'snapshot', pointId: api.pointA.id, target }), 400, /records no policy \(tag cloudkeep:policy\)/);
    assertError(await post({ kind: 'snapshot', pointId: 'no-such-point', target }), 404, /no restore point "no-such-point"/);
    assertError(await post({ kind: 'snapshot', pointId: point(), target: { region: 'us-east-1' } }), 400, /target region us-east-1 is not allowed/);
    assertError(await post({ kind: 'snapshot', pointId: point(), target: { region: 'eu-west-1', roleArn: 'arn:aws:iam::999999999999:role/other' } }), 400, /is not a member role of account/);
    assert.equal(sfn.executions.size, before, 'no execution started');
  });

  it("another account's restore point is not found", async () => {
    const theirs = await api.backup(B, { resourceId: 'vol-b-tagged', tags: POLICY_TAG });
    assertError(await post({ kind: 'snapshot', pointId: theirs.id, target }), 404, /no restore point/);
  });
});

describe('local server: image restores only', () => {
  it('capabilities and restore points say image; an AWS kind is refused naming kind', async () => {
    const local = await startApi();
    try {
      const caps = await local.call('GET', '/capabilities');
      assert.deepEqual(caps.json.restores, { image: true, ebsVolume: false, instance: false, snapshot: false });
      assert.equal(caps.json.auth, 'token');
      const points = (await local.call('GET', `/accounts/${A}/restore-points`)).json.restorePoints as Array<{ restoreKinds: string[] }>;
      assert.deepEqual(points.map((p) => p.restoreKinds), [['image']]);
      assertError(await local.call('POST', `/accounts/${A}/restores`, { body: { kind: 'snapshot', pointId: local.pointA.id, target } }), 400, /kind "snapshot": this server restores image/);
      const image = await local.call('POST', `/accounts/${A}/restores`, { body: { kind: 'image', pointId: local.pointA.id, targetPath: 'a.img' } });
      assert.equal(image.status, 202);
      assert.equal(image.json.restore.kind, 'image');
    } finally {
      await local.close();
    }
  });
});
