// Planning: selection by type, tags, ids, exclusions and regions; unprotected resources; next runs across DST.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { planPolicies, parseInventory, type DiscoveredResource } from '../../core/policy/plan.ts';
import { nextRuns, parsePolicy } from '../../core/policy/policy-schema.ts';

const ACCOUNT = '123456789012';
const r = (id: string, type: DiscoveredResource['type'], region: string, tags: Record<string, string> = {}, account = ACCOUNT): DiscoveredResource => ({ provider: 'aws', account, region, type, id, tags });

function policy(id: string, selection: Record<string, unknown>, regions = ['eu-west-1']) {
  return parsePolicy(
    {
      id,
      name: id,
      account: { provider: 'aws', id: ACCOUNT, roleArn: `arn:aws:iam::${ACCOUNT}:role/ck` },
      regions,
      selection,
      snapshots: { schedule: '30 2 * * *', timeZone: 'Europe/Berlin', retention: { keepLast: 7 } },
    },
    `${id}.yaml`,
  );
}

const iso = (dates: Date[]) => dates.map((d) => d.toISOString());

describe('planPolicies', () => {
  const inventory = [
    r('i-web1', 'ec2-instance', 'eu-west-1', { role: 'web', env: 'prod' }),
    r('i-web2', 'ec2-instance', 'eu-west-1', { role: 'web', env: 'prod', 'backup-exclude': 'true' }),
    r('i-web3', 'ec2-instance', 'us-east-1', { role: 'web', env: 'prod' }),
    r('i-web4', 'ec2-instance', 'eu-west-1', { role: 'web', env: 'dev' }),
    r('i-batch', 'ec2-instance', 'eu-west-1', {}),
    r('i-skip', 'ec2-instance', 'eu-west-1', {}),
    r('vol-1', 'ebs-volume', 'eu-west-1', { role: 'web', env: 'prod' }),
    r('db-1', 'rds-instance', 'eu-west-1', {}),
    r('i-other-account', 'ec2-instance', 'eu-west-1', { role: 'web', env: 'prod' }, '210987654321'),
  ];
  const web = policy('web', { resourceTypes: ['ec2-instance'], tags: { role: 'web', env: 'prod' }, ids: ['i-batch', 'i-gone'], excludeTags: { 'backup-exclude': 'true' } });
  const dbs = policy('dbs', { resourceTypes: ['rds-instance', 'ebs-volume'], excludeIds: ['vol-1'] });
  const plan = planPolicies([web, dbs], inventory, new Date('2026-03-27T12:00:00Z'));

  it('selects by type, all tags, listed ids and regions, minus exclusions, within the account', () => {
    assert.deepEqual(plan.policies[0].selected.map((x) => x.id), ['i-web1', 'i-batch']);
    assert.deepEqual(plan.policies[1].selected.map((x) => x.id), ['db-1'], 'no tags or ids: every resource of the types, minus excludeIds');
  });

  it('reports listed ids that discovery did not find', () => {
    assert.deepEqual(plan.policies[0].missingIds, ['i-gone']);
  });

  it('lists the resources no policy protects', () => {
    assert.deepEqual(plan.unprotected.map((x) => x.id), ['i-web2', 'i-web3', 'i-web4', 'i-skip', 'vol-1', 'i-other-account']);
    assert.deepEqual(plan.overlaps, []);
  });

  it('adds regions and reports resources selected twice', () => {
    const wide = policy('wide', { resourceTypes: ['ec2-instance'], tags: { role: 'web' } }, ['eu-west-1', 'us-east-1']);
    const p = planPolicies([web, wide], inventory, new Date('2026-03-27T12:00:00Z'));
    assert.deepEqual(p.policies[1].selected.map((x) => x.id), ['i-web1', 'i-web2', 'i-web3', 'i-web4']);
    assert.deepEqual(p.overlaps.map((o) => [o.resource.id, o.policies]), [['i-web1', ['web', 'wide']]]);
  });

  it('gives the next runs of each schedule from now, across the spring DST change', () => {
    assert.deepEqual(iso(plan.policies[0].snapshots!.next), ['2026-03-28T01:30:00.000Z', '2026-03-29T01:00:00.000Z', '2026-03-30T00:30:00.000Z']);
    assert.equal(plan.policies[0].backup, undefined);
  });

  it('validates inventories', () => {
    assert.throws(() => parseInventory([{ ...inventory[0], type: 'vm' }], 'inv.json'), /inv\.json: \[0\]\.type/);
    assert.throws(() => parseInventory({}, 'inv.json'), /expected a JSON list/);
  });
});

describe('nextRuns', () => {
  it('follows the wall clock of the time zone', () => {
    const from = new Date('2026-01-10T12:00:00Z');
    assert.deepEqual(iso(nextRuns('0 2 * * *', 'Europe/Berlin', from, 2)), ['2026-01-11T01:00:00.000Z', '2026-01-12T01:00:00.000Z']);
    assert.deepEqual(iso(nextRuns('0 2 * * *', 'America/New_York', from, 1)), ['2026-01-11T07:00:00.000Z']);
    assert.deepEqual(iso(nextRuns('0 2 * * *', 'UTC', from, 1)), ['2026-01-11T02:00:00.000Z']);
  });

  it('runs a time skipped by the spring change once, right after the jump (last Sunday of March)', () => {
    const runs = iso(nextRuns('30 2 * * *', 'Europe/Berlin', new Date('2026-03-28T12:00:00Z'), 2));
    assert.deepEqual(runs, ['2026-03-29T01:00:00.000Z', '2026-03-30T00:30:00.000Z'], '02:30 does not exist on 2026-03-29: 03:00 CEST, then 02:30 CEST');
  });

  it('runs a time that occurs twice in autumn once', () => {
    const runs = iso(nextRuns('30 2 * * *', 'Europe/Berlin', new Date('2026-10-24T12:00:00Z'), 2));
    assert.deepEqual(runs, ['2026-10-25T00:30:00.000Z', '2026-10-26T01:30:00.000Z']);
  });

  it('counts rate schedules from the given time', () => {
    const from = new Date('2026-03-29T00:00:00Z');
    assert.deepEqual(iso(nextRuns('rate(6 hours)', 'Europe/Berlin', from, 3)), ['2026-03-29T06:00:00.000Z', '2026-03-29T12:00:00.000Z', '2026-03-29T18:00:00.000Z']);
    assert.deepEqual(iso(nextRuns('rate(1 day)', 'UTC', from, 1)), ['2026-03-30T00:00:00.000Z']);
    assert.deepEqual(iso(nextRuns('rate(15 minutes)', 'UTC', from, 1)), ['2026-03-29T00:15:00.000Z']);
  });

  it('rejects bad schedules and zones', () => {
    assert.throws(() => nextRuns('0 25 * * *', 'UTC', new Date(), 1), /not a valid cron expression/);
    assert.throws(() => nextRuns('rate(1 week)', 'UTC', new Date(), 1), /not a valid rate expression/);
    assert.throws(() => nextRuns('0 2 * * *', 'Nowhere/City', new Date(), 1), /not an IANA time zone/);
  });
});
