// AwsScheduler against a REST-JSON EventBridge Scheduler stand-in: paths, payloads, pagination and error translation.
import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SchedulerClient } from '@aws-sdk/client-scheduler';
import { AbortedError, InvalidArgumentError } from '../../core/errors.ts';
import { desiredSchedules } from '../../core/policy/apply.ts';
import { parsePolicy } from '../../core/policy/policy-schema.ts';
import { SchedulerError, type ScheduleSpec } from '../../core/policy/scheduler-port.ts';
import { AwsScheduler } from '../../providers/aws/aws-scheduler.ts';
import { startFakeScheduler, type FakeScheduler } from '../support/fake-scheduler-server.ts';

const TARGETS = {
  stateMachineArn: 'arn:aws:states:eu-west-1:123456789012:stateMachine:cloudkeep-backup',
  roleArn: 'arn:aws:iam::123456789012:role/cloudkeep-scheduler',
  groupName: 'cloudkeep-schedules',
};

const policy = parsePolicy({
  id: 'web',
  name: 'Web',
  account: { provider: 'aws', id: '123456789012', roleArn: 'arn:aws:iam::123456789012:role/CloudkeepBackup' },
  regions: ['eu-west-1'],
  selection: { resourceTypes: ['ec2-instance'] },
  snapshots: { schedule: '0 2 * * 1-5', timeZone: 'Europe/Berlin', retention: { keepLast: 7 } },
  backup: { schedule: 'rate(12 hours)', timeZone: 'UTC', retention: { keepLast: 3 }, repository: 's3://bucket/prefix' },
}, 'web.yaml');

const spec = (name: string, extra: Partial<ScheduleSpec> = {}): ScheduleSpec => ({ ...desiredSchedules(policy, TARGETS)[0], name, ...extra });

describe('AwsScheduler (EventBridge Scheduler wire protocol)', () => {
  let fake: FakeScheduler;
  let scheduler: AwsScheduler;
  before(async () => {
    fake = await startFakeScheduler({ pageSize: 2 });
    const client = new SchedulerClient({ region: 'eu-west-1', endpoint: fake.endpoint, credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' }, maxAttempts: 1 });
    scheduler = new AwsScheduler({ client });
  });
  after(async () => fake.close());
  beforeEach(() => {
    fake.requests.length = 0;
    fake.schedules.clear();
    fake.failNext.length = 0;
  });

  it('creates with the full definition: expression, time zone, target input, role, group, window OFF', async () => {
    for (const s of desiredSchedules(policy, TARGETS)) await scheduler.create(s);
    assert.deepEqual(fake.requests.map((r) => `${r.method} ${r.path}`), ['POST /schedules/cloudkeep-web-snapshots', 'POST /schedules/cloudkeep-web-backup']);
    const [snap, backup] = fake.requests.map((r) => r.body as Record<string, any>);
    assert.equal(snap.ScheduleExpression, 'cron(0 2 ? * MON-FRI *)');
    assert.equal(snap.ScheduleExpressionTimezone, 'Europe/Berlin');
    assert.equal(snap.GroupName, 'cloudkeep-schedules');
    assert.deepEqual(snap.FlexibleTimeWindow, { Mode: 'OFF' });
    assert.equal(snap.Target.Arn, TARGETS.stateMachineArn);
    assert.equal(snap.Target.RoleArn, TARGETS.roleArn);
    assert.deepEqual(JSON.parse(snap.Target.Input), { policyId: 'web', account: '123456789012', run: 'snapshots' });
    assert.equal(backup.ScheduleExpression, 'rate(12 hours)');
    assert.deepEqual(JSON.parse(backup.Target.Input), { policyId: 'web', account: '123456789012', run: 'backup' });
    assert.equal(typeof snap.ClientToken, 'string', 'the SDK fills the idempotency token');
  });

  it('lists through every page with the group and name prefix, reading each schedule back', async () => {
    for (const n of ['a', 'b', 'c', 'd', 'e']) await scheduler.create(spec(`cloudkeep-${n}-backup`));
    fake.schedules.set('cloudkeep-schedules/other-thing', { Name: 'other-thing', GroupName: 'cloudkeep-schedules' });
    fake.requests.length = 0;
    const listed = await scheduler.list('cloudkeep-schedules');
    assert.deepEqual(listed.map((s) => s.name), ['cloudkeep-a-backup', 'cloudkeep-b-backup', 'cloudkeep-c-backup', 'cloudkeep-d-backup', 'cloudkeep-e-backup']);
    assert.deepEqual(listed[0], spec('cloudkeep-a-backup'));
    const lists = fake.requests.filter((r) => r.path === '/schedules');
    assert.equal(lists.length, 3);
    assert.deepEqual(lists.map((r) => r.query.get('NextToken')), [null, '2', '4']);
    for (const r of lists) {
      assert.equal(r.query.get('ScheduleGroup'), 'cloudkeep-schedules');
      assert.equal(r.query.get('NamePrefix'), 'cloudkeep-');
    }
    const gets = fake.requests.filter((r) => r.method === 'GET' && r.path !== '/schedules');
    assert.equal(gets.length, 5);
    assert.equal(gets[0].query.get('groupName'), 'cloudkeep-schedules');
  });

  it('create of an existing schedule updates it; update of a missing one creates it', async () => {
    await scheduler.create(spec('cloudkeep-x-backup'));
    await scheduler.create(spec('cloudkeep-x-backup', { expression: 'rate(1 day)' }));
    assert.deepEqual(fake.requests.map((r) => r.method), ['POST', 'POST', 'PUT']);
    assert.equal(fake.schedules.get('cloudkeep-schedules/cloudkeep-x-backup')?.ScheduleExpression, 'rate(1 day)');
    fake.requests.length = 0;
    await scheduler.update(spec('cloudkeep-y-backup'));
    assert.deepEqual(fake.requests.map((r) => r.method), ['PUT', 'POST']);
    assert.ok(fake.schedules.has('cloudkeep-schedules/cloudkeep-y-backup'));
  });

  it('deletes with the group as a query parameter; a missing schedule is fine', async () => {
    await scheduler.create(spec('cloudkeep-x-backup'));
    await scheduler.delete('cloudkeep-schedules', 'cloudkeep-x-backup');
    await scheduler.delete('cloudkeep-schedules', 'cloudkeep-x-backup');
    const deletes = fake.requests.filter((r) => r.method === 'DELETE');
    assert.equal(deletes.length, 2);
    assert.equal(deletes[0].path, '/schedules/cloudkeep-x-backup');
    assert.equal(deletes[0].query.get('groupName'), 'cloudkeep-schedules');
    assert.equal(fake.schedules.size, 0);
  });

  it('translates errors: validation is a usage error, throttling is retryable, abort is AbortedError', async () => {
    fake.failNext.push({ status: 400, type: 'ValidationException' });
    await assert.rejects(scheduler.create(spec('cloudkeep-x-backup')), (e: Error) => e instanceof InvalidArgumentError && /CreateSchedule cloudkeep-schedules\/cloudkeep-x-backup was refused/.test(e.message));
    fake.failNext.push({ status: 429, type: 'ThrottlingException' });
    await assert.rejects(scheduler.list('cloudkeep-schedules'), (e: Error) => e instanceof SchedulerError && e.retryable && /ListSchedules in group cloudkeep-schedules failed: ThrottlingException/.test(e.message));
    fake.failNext.push({ status: 404, type: 'ResourceNotFoundException' });
    await assert.rejects(scheduler.list('nope'), (e: Error) => e instanceof SchedulerError && !e.retryable && /schedule group exist/.test(e.message));
    const aborted = AbortSignal.abort();
    await assert.rejects(scheduler.delete('cloudkeep-schedules', 'cloudkeep-x-backup', { signal: aborted }), AbortedError);
  });
});
