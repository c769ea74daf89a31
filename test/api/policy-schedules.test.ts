// Enabling and disabling a policy through the policy service switches its schedules: local files and EventBridge Scheduler over the wire.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SchedulerClient } from '@aws-sdk/client-scheduler';
import { asAccountId, asPolicyId } from '../../core/control/control-ids.ts';
import type { JsonObject } from '../../core/control/control-store.ts';
import { desiredSchedules, policyBody } from '../../core/policy/apply.ts';
import { parsePolicy } from '../../core/policy/policy-schema.ts';
import { savePolicy, setPolicyEnabled } from '../../functions/api/policy-service.ts';
import { AwsScheduler } from '../../providers/aws/aws-scheduler.ts';
import { LocalScheduler } from '../../providers/local/local-scheduler.ts';
import { MemoryControlStore } from '../../providers/memory/memory-control-store.ts';
import { startFakeScheduler, type FakeScheduler } from '../support/fake-scheduler-server.ts';

const ACCOUNT = '123456789012';
const TARGETS = {
  stateMachineArn: `arn:aws:states:eu-west-1:${ACCOUNT}:stateMachine:cloudkeep-backup`,
  roleArn: `arn:aws:iam::${ACCOUNT}:role/cloudkeep-scheduler`,
  groupName: 'cloudkeep',
};
const document = {
  id: 'web', name: 'Web', account: { provider: 'aws', id: ACCOUNT, roleArn: `arn:aws:iam::${ACCOUNT}:role/cloudkeep-member` }, regions: ['eu-west-1'],
  selection: { resourceTypes: ['ec2-instance'] },
  snapshots: { schedule: '0 2 * * *', timeZone: 'Europe/Berlin', retention: { keepLast: 7 } },
  backup: { schedule: 'rate(1 day)', timeZone: 'UTC', retention: { keepLast: 3 }, repository: 's3://bucket/web' },
};
const policy = parsePolicy(document, 'web');

async function storeWithPolicy(): Promise<MemoryControlStore> {
  const store = new MemoryControlStore();
  await store.putPolicy(asAccountId(ACCOUNT), { id: asPolicyId('web'), name: 'Web', body: policyBody(policy) as JsonObject }, 0);
  return store;
}

describe('policy service: enable/disable switches the schedules', () => {
  let dir: string;
  let fake: FakeScheduler;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ck-policy-schedules-'));
    fake = await startFakeScheduler();
  });
  after(async () => {
    await fake.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('local scheduler: disable writes both schedules DISABLED, enable switches them back, the stored policy follows', async () => {
    const store = await storeWithPolicy();
    const scheduler = new LocalScheduler(dir);
    const options = { scheduler: { scheduler, targets: TARGETS } };
    const disabled = await setPolicyEnabled(store, ACCOUNT, 'web', false, options);
    assert.equal((disabled.body as { enabled?: boolean }).enabled, false);
    const off = await scheduler.list('cloudkeep');
    assert.deepEqual(off.map((s) => [s.name, s.state]), [['cloudkeep-web-backup', 'DISABLED'], ['cloudkeep-web-snapshots', 'DISABLED']]);
    // The same schedules `policy apply` would write for the disabled policy: one way to name and build them.
    assert.deepEqual(off, desiredSchedules({ ...policy, enabled: false }, TARGETS).sort((a, b) => a.name.localeCompare(b.name)));
    const enabled = await setPolicyEnabled(store, ACCOUNT, 'web', true, options);
    assert.equal(enabled.version, disabled.version + 1);
    assert.deepEqual((await scheduler.list('cloudkeep')).map((s) => [s.name, s.state]), [['cloudkeep-web-backup', undefined], ['cloudkeep-web-snapshots', undefined]]);
  });

  it('a saved policy without a snapshots section loses that schedule; without a scheduler, schedules are left alone', async () => {
    const store = await storeWithPolicy();
    const scheduler = new LocalScheduler(join(dir, 'second'));
    await setPolicyEnabled(store, ACCOUNT, 'web', true, { scheduler: { scheduler, targets: TARGETS } });
    const { snapshots: _dropped, ...withoutSnapshots } = document;
    const saved = await savePolicy(store, ACCOUNT, 'web', { ...withoutSnapshots, enabled: false }, 2);
    assert.equal((saved.body as { enabled?: boolean }).enabled, false);
    assert.deepEqual((await scheduler.list('cloudkeep')).map((s) => [s.name, s.state]), [['cloudkeep-web-backup', undefined], ['cloudkeep-web-snapshots', undefined]], 'no scheduler given: untouched');
    await savePolicy(store, ACCOUNT, 'web', { ...withoutSnapshots, enabled: false }, 3, { scheduler: { scheduler, targets: TARGETS } });
    assert.deepEqual((await scheduler.list('cloudkeep')).map((s) => [s.name, s.state]), [['cloudkeep-web-backup', 'DISABLED']]);
  });

  it('EventBridge Scheduler: UpdateSchedule with State DISABLED, then ENABLED, keeping expression, target and input', async () => {
    const store = await storeWithPolicy();
    const client = new SchedulerClient({ region: 'eu-west-1', endpoint: fake.endpoint, credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' }, maxAttempts: 1 });
    const scheduler = new AwsScheduler({ client });
    for (const spec of desiredSchedules(policy, TARGETS)) await scheduler.create(spec);
    fake.requests.length = 0;
    await setPolicyEnabled(store, ACCOUNT, 'web', false, { scheduler: { scheduler, targets: TARGETS } });
    const updates = fake.requests.filter((r) => r.method === 'PUT');
    assert.deepEqual(updates.map((r) => [r.path, (r.body as { State?: string }).State]), [['/schedules/cloudkeep-web-snapshots', 'DISABLED'], ['/schedules/cloudkeep-web-backup', 'DISABLED']]);
    const snap = fake.schedules.get('cloudkeep/cloudkeep-web-snapshots') as Record<string, any>;
    assert.deepEqual([snap.State, snap.ScheduleExpression, snap.ScheduleExpressionTimezone, snap.Target.Arn], ['DISABLED', 'cron(0 2 * * ? *)', 'Europe/Berlin', TARGETS.stateMachineArn]);
    assert.deepEqual(JSON.parse(snap.Target.Input), { policyId: 'web', account: ACCOUNT, run: 'snapshots' });
    await setPolicyEnabled(store, ACCOUNT, 'web', true, { scheduler: { scheduler, targets: TARGETS } });
    assert.deepEqual([...fake.schedules.values()].map((s) => s.State), ['ENABLED', 'ENABLED']);
  });

  it('a scheduler failure is reported after the policy was stored (a retried call repeats both)', async () => {
    const store = await storeWithPolicy();
    const client = new SchedulerClient({ region: 'eu-west-1', endpoint: fake.endpoint, credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' }, maxAttempts: 1 });
    fake.failNext.push({ status: 400, type: 'ValidationException' });
    await assert.rejects(setPolicyEnabled(store, ACCOUNT, 'web', false, { scheduler: { scheduler: new AwsScheduler({ client }), targets: TARGETS } }), /UpdateSchedule cloudkeep\/cloudkeep-web-snapshots was refused/);
    assert.equal(((await store.getPolicy(asAccountId(ACCOUNT), asPolicyId('web')))!.body as { enabled?: boolean }).enabled, false);
  });
});
