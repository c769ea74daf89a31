// Disabled policies: `enabled: false` in the policy model, DISABLED schedules from apply, kept by both schedulers.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SchedulerClient } from '@aws-sdk/client-scheduler';
import { parse } from 'yaml';
import { desiredSchedules, planApply, policyBody } from '../../core/policy/apply.ts';
import { isEnabled, parsePolicy, PolicyValidationError } from '../../core/policy/policy-schema.ts';
import { AwsScheduler } from '../../providers/aws/aws-scheduler.ts';
import { LocalScheduler } from '../../providers/local/local-scheduler.ts';
import { startFakeScheduler, type FakeScheduler } from '../support/fake-scheduler-server.ts';

const TARGETS = {
  stateMachineArn: 'arn:aws:states:eu-west-1:123456789012:stateMachine:cloudkeep-backup',
  roleArn: 'arn:aws:iam::123456789012:role/cloudkeep-scheduler',
  groupName: 'cloudkeep',
};

// The repository's example policy (snapshots and backup), with `extra` fields.
const example = parse(readFileSync(new URL('../../policies/123456789012/databases.yaml', import.meta.url), 'utf8')) as Record<string, unknown>;
const doc = (extra: Record<string, unknown> = {}) => ({ ...example, ...extra });

describe('enabled flag of policies', () => {
  it('is optional and true by default; anything but a boolean is a problem naming the value', () => {
    assert.equal(isEnabled(parsePolicy(doc(), 'databases.yaml')), true);
    assert.equal(isEnabled(parsePolicy(doc({ enabled: true }), 'databases.yaml')), true);
    assert.equal(isEnabled(parsePolicy(doc({ enabled: false }), 'databases.yaml')), false);
    assert.throws(() => parsePolicy(doc({ enabled: 'no' }), 'databases.yaml'), (err: unknown) => {
      assert.ok(err instanceof PolicyValidationError);
      assert.deepEqual(err.problems.map((p) => [p.path, p.message]), [['enabled', 'expected true or false, got "no"']]);
      return true;
    });
  });

  it('makes apply create DISABLED schedules, and switching it is an update of each schedule', () => {
    const off = parsePolicy(doc({ enabled: false }), 'databases.yaml');
    const on = parsePolicy(doc(), 'databases.yaml');
    assert.deepEqual(desiredSchedules(off, TARGETS).map((s) => s.state), ['DISABLED', 'DISABLED']);
    assert.deepEqual(desiredSchedules(on, TARGETS).map((s) => s.state), [undefined, undefined]);
    const stored = [{ account: on.account.id, id: on.id, name: on.name, version: 1, body: policyBody(on) }];
    const plan = planApply([off], stored, desiredSchedules(on, TARGETS), TARGETS);
    assert.deepEqual(plan.schedules.map((s) => [s.name, s.action, s.spec?.state]), [['cloudkeep-databases-backup', 'update', 'DISABLED'], ['cloudkeep-databases-snapshots', 'update', 'DISABLED']]);
    assert.equal(planApply([off], stored, desiredSchedules(off, TARGETS), TARGETS).schedules.every((s) => s.action === 'unchanged'), true);
  });
});

describe('schedule state in the schedulers', () => {
  const [disabled] = desiredSchedules(parsePolicy(doc({ enabled: false }), 'databases.yaml'), TARGETS);
  const [enabled] = desiredSchedules(parsePolicy(doc(), 'databases.yaml'), TARGETS);
  let fake: FakeScheduler;
  let dir: string;
  before(async () => {
    fake = await startFakeScheduler();
    dir = await mkdtemp(join(tmpdir(), 'cloudkeep-sched-'));
  });
  after(async () => {
    await fake.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('EventBridge Scheduler gets State DISABLED and lists it back; enabled schedules stay ENABLED', async () => {
    const client = new SchedulerClient({ region: 'eu-west-1', endpoint: fake.endpoint, credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' }, maxAttempts: 1 });
    const scheduler = new AwsScheduler({ client });
    await scheduler.create(disabled);
    assert.equal(fake.requests.at(-1)?.body?.State, 'DISABLED');
    assert.deepEqual(await scheduler.list(TARGETS.groupName), [disabled]);
    await scheduler.update(enabled);
    assert.equal(fake.requests.at(-1)?.body?.State, 'ENABLED');
    assert.deepEqual(await scheduler.list(TARGETS.groupName), [enabled]);
  });

  it('the local scheduler keeps the state in its file', async () => {
    const scheduler = new LocalScheduler(dir);
    await scheduler.create(disabled);
    assert.deepEqual(await scheduler.list(TARGETS.groupName), [disabled]);
    await scheduler.update(enabled);
    assert.deepEqual(await scheduler.list(TARGETS.groupName), [enabled]);
  });
});
