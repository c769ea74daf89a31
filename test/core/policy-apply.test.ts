// policy apply planning: cron to EventBridge translation, desired schedules, and create/update/delete/no-op plans.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidArgumentError } from '../../core/errors.ts';
import { applyPlanText, contentHash, desiredSchedules, planApply, policyBody, type StoredPolicy } from '../../core/policy/apply.ts';
import { toEventBridgeExpression } from '../../core/policy/eventbridge-expression.ts';
import { parsePolicy, type Policy } from '../../core/policy/policy-schema.ts';

const TARGETS = {
  stateMachineArn: 'arn:aws:states:eu-west-1:123456789012:stateMachine:cloudkeep-backup',
  roleArn: 'arn:aws:iam::123456789012:role/cloudkeep-scheduler',
  groupName: 'cloudkeep',
};

function policy(id: string, snapshots = '0 2 * * *', backup: string | null = 'rate(12 hours)'): Policy {
  return parsePolicy({
    id,
    name: `Policy ${id}`,
    account: { provider: 'aws', id: '123456789012', roleArn: 'arn:aws:iam::123456789012:role/CloudkeepBackup' },
    regions: ['eu-west-1'],
    selection: { resourceTypes: ['ec2-instance'] },
    snapshots: { schedule: snapshots, timeZone: 'Europe/Berlin', retention: { keepLast: 7 } },
    ...(backup ? { backup: { schedule: backup, timeZone: 'UTC', retention: { keepLast: 3 }, repository: 's3://bucket/prefix' } } : {}),
  }, `${id}.yaml`);
}

const stored = (p: Policy, version = 1): StoredPolicy => ({ account: p.account.id, id: p.id, name: p.name, version, body: policyBody(p) });

describe('toEventBridgeExpression', () => {
  const table: Array<[string, string]> = [
    ['0 2 * * *', 'cron(0 2 * * ? *)'],
    ['30 1 * * 1-5', 'cron(30 1 ? * MON-FRI *)'],
    ['0 3 * * 0', 'cron(0 3 ? * SUN *)'],
    ['0 3 * * 7', 'cron(0 3 ? * SUN *)'],
    ['0 3 * * 5-7', 'cron(0 3 ? * SUN,FRI,SAT *)'],
    ['0 3 * * 1,3,5', 'cron(0 3 ? * MON,WED,FRI *)'],
    ['0 3 * * sat', 'cron(0 3 ? * SAT *)'],
    ['0 3 * * 0-6', 'cron(0 3 * * ? *)'],
    ['0 4 1 * *', 'cron(0 4 1 * ? *)'],
    ['0 4 1,15 * *', 'cron(0 4 1,15 * ? *)'],
    ['0 4 */2 * *', 'cron(0 4 1/2 * ? *)'],
    ['*/15 * * * *', 'cron(0/15 * * * ? *)'],
    ['0 */6 * * *', 'cron(0 0/6 * * ? *)'],
    ['0 0 1 jan *', 'cron(0 0 1 JAN ? *)'],
    ['rate(12 hours)', 'rate(12 hours)'],
    ['rate(1 day)', 'rate(1 day)'],
  ];
  for (const [cron, expected] of table) {
    it(`${cron} -> ${expected}`, () => assert.equal(toEventBridgeExpression(cron, 'policy "p" snapshots.schedule'), expected));
  }

  it('refuses day-of-month and day-of-week together, naming the policy and field', () => {
    assert.throws(() => toEventBridgeExpression('0 2 1 * 1', 'policy "web" backup.schedule'), (e: Error) =>
      e instanceof InvalidArgumentError && /^policy "web" backup\.schedule: "0 2 1 \* 1" cannot run on EventBridge Scheduler: it restricts both day-of-month \(1\) and day-of-week \(1\)/.test(e.message));
  });

  it('refuses an invalid schedule', () => {
    assert.throws(() => toEventBridgeExpression('every day', 'policy "p" snapshots.schedule'), InvalidArgumentError);
  });
});

describe('desiredSchedules', () => {
  it('names, expressions, time zones, target input, role and group', () => {
    const [snap, backup] = desiredSchedules(policy('web', '0 2 * * 1-5'), TARGETS);
    assert.deepEqual(snap, {
      name: 'cloudkeep-web-snapshots', groupName: 'cloudkeep', expression: 'cron(0 2 ? * MON-FRI *)', timeZone: 'Europe/Berlin',
      targetArn: TARGETS.stateMachineArn, roleArn: TARGETS.roleArn, input: JSON.stringify({ policyId: 'web', account: '123456789012', run: 'snapshots' }),
    });
    assert.equal(backup.name, 'cloudkeep-web-backup');
    assert.equal(backup.expression, 'rate(12 hours)');
    assert.deepEqual(JSON.parse(backup.input), { policyId: 'web', account: '123456789012', run: 'backup' });
    assert.equal(desiredSchedules(policy('web', '0 2 * * *', null), TARGETS).length, 1);
  });

  it('refuses a policy id too long for a schedule name, and bad targets', () => {
    assert.throws(() => desiredSchedules(policy('a'.repeat(50)), TARGETS), /longer than EventBridge's 64 characters/);
    assert.throws(() => planApply([], [], [], { ...TARGETS, roleArn: 'nope' }), /role ARN "nope"/);
    assert.throws(() => planApply([], [], [], { ...TARGETS, stateMachineArn: 'nope' }), /state machine ARN "nope"/);
  });
});

describe('planApply', () => {
  const web = policy('web');
  const db = policy('db', '0 1 * * *', null);

  it('creates policies and schedules that do not exist yet', () => {
    const plan = planApply([web, db], [], [], TARGETS);
    assert.deepEqual(plan.policies.map((p) => `${p.policyId}:${p.action}:${p.expectedVersion}`), ['db:create:0', 'web:create:0']);
    assert.deepEqual(plan.schedules.map((s) => `${s.name}:${s.action}`), ['cloudkeep-db-snapshots:create', 'cloudkeep-web-backup:create', 'cloudkeep-web-snapshots:create']);
    assert.equal(plan.changes, 5);
    assert.equal(plan.policies[1].hash, contentHash(policyBody(web)));
  });

  it('changes nothing when everything is applied', () => {
    const existing = [...desiredSchedules(web, TARGETS), ...desiredSchedules(db, TARGETS)];
    const plan = planApply([web, db], [stored(web, 3), stored(db)], existing, TARGETS);
    assert.equal(plan.changes, 0);
    assert.ok([...plan.policies, ...plan.schedules].every((c) => c.action === 'unchanged'));
    assert.match(applyPlanText(plan), /no changes: everything is applied already$/);
  });

  it('key order of a stored body does not matter', () => {
    const body = policyBody(web);
    const reordered = Object.fromEntries(Object.entries(body).reverse());
    const plan = planApply([web], [{ ...stored(web), body: reordered }], desiredSchedules(web, TARGETS), TARGETS);
    assert.equal(plan.changes, 0);
  });

  it('updates a changed policy and its changed schedule, expecting the stored version', () => {
    const edited = policy('web', '0 4 * * *');
    const plan = planApply([edited], [stored(web, 3)], desiredSchedules(web, TARGETS), TARGETS);
    assert.deepEqual(plan.policies.map((p) => `${p.policyId}:${p.action}:${p.expectedVersion}`), ['web:update:3']);
    assert.deepEqual(plan.schedules.map((s) => `${s.name}:${s.action}`), ['cloudkeep-web-backup:unchanged', 'cloudkeep-web-snapshots:update']);
    assert.equal(plan.schedules[1].spec?.expression, 'cron(0 4 * * ? *)');
    assert.equal(plan.changes, 2);
  });

  it('repairs schedules that drifted (other role) or went missing', () => {
    const [snap] = desiredSchedules(web, TARGETS);
    const plan = planApply([web], [stored(web)], [{ ...snap, roleArn: 'arn:aws:iam::123456789012:role/other' }], TARGETS);
    assert.deepEqual(plan.schedules.map((s) => `${s.name}:${s.action}`), ['cloudkeep-web-backup:create', 'cloudkeep-web-snapshots:update']);
  });

  it('deletes removed policies and schedules no policy wants', () => {
    const existing = [...desiredSchedules(web, TARGETS), ...desiredSchedules(db, TARGETS)];
    const plan = planApply([db], [stored(web, 2), stored(db)], existing, TARGETS);
    assert.deepEqual(plan.policies.map((p) => `${p.policyId}:${p.action}:${p.expectedVersion}`), ['db:unchanged:1', 'web:delete:2']);
    assert.deepEqual(plan.schedules.map((s) => `${s.name}:${s.action}`), ['cloudkeep-db-snapshots:unchanged', 'cloudkeep-web-backup:delete', 'cloudkeep-web-snapshots:delete']);
    assert.equal(plan.changes, 3);
  });
});
