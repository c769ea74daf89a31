// Runs the CDK-synthesized backup state machine locally: real handlers, real SDK clients, fake EC2/RDS/STS, dynalite.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { asAccountId, asPolicyId, asRegionName, asSessionId, asVolumeId } from '../../core/control/control-ids.ts';
import { parsePolicy } from '../../core/policy/policy-schema.ts';
import type { DynamoDbControlStore } from '../../providers/aws/dynamodb-control-store.ts';
import { EXTERNAL_ID, startBackupMachine, type BackupMachine } from '../support/backup-machine.ts';
import type { Dynalite } from '../support/dynalite.ts';
import type { FakeAwsServer, FakeSnapshot } from '../support/fake-aws-query-server.ts';

const MEMBER = '444455556666';
const ROLE = `arn:aws:iam::${MEMBER}:role/cloudkeep-member`;
const DAY = 86_400_000;

const policy = parsePolicy({
  id: 'web', name: 'Web servers', account: { provider: 'aws', id: MEMBER, roleArn: ROLE }, regions: ['us-east-1', 'eu-west-1'],
  selection: { resourceTypes: ['ec2-instance', 'rds-instance'], tags: { backup: 'daily' } },
  snapshots: { schedule: 'rate(1 day)', timeZone: 'UTC', retention: { keepLast: 2 } },
  backup: { schedule: 'rate(1 day)', timeZone: 'UTC', retention: { keepDaily: 7 }, repository: 's3://backups/web' },
  worker: { instanceSize: [{ upToGiB: 100, type: 'm7g.large' }], subnets: { 'us-east-1': ['subnet-0a0a0a0a'], 'eu-west-1': ['subnet-0b0b0b0b'] }, spotAllowed: false },
}, 'test policy');

let machine: BackupMachine;
let dynalite: Dynalite;
let aws: FakeAwsServer;
let store: DynamoDbControlStore;
let table: string;
let workerCalls: BackupMachine['workerCalls'];

// Synth, dynalite, the fake cloud and the handlers' environment: test/support/backup-machine.ts (shared with state-machine-aurora.test.ts).
before(async () => {
  machine = await startBackupMachine();
  ({ dynalite, aws, store, table, workerCalls } = machine);
});

after(async () => {
  await machine?.stop();
});

/** Resets the fake cloud to 3 tagged resources in 2 regions plus one untagged instance. */
function resetCloud(extra: Partial<{ failCreateFor: string[]; snapshots: FakeSnapshot[] }> = {}) {
  const c = aws.cloud;
  c.instances = [
    { id: 'i-aaaa', region: 'us-east-1', volumeIds: ['vol-a1', 'vol-a2'], tags: { backup: 'daily', Name: 'web-1' } },
    { id: 'i-bbbb', region: 'eu-west-1', volumeIds: ['vol-b1'], tags: { backup: 'daily' } },
    { id: 'i-untagged', region: 'us-east-1', volumeIds: ['vol-u1'], tags: {} },
  ];
  c.databases = [{ id: 'db-orders', region: 'eu-west-1', tags: { backup: 'daily' } }];
  c.snapshots = extra.snapshots ?? [];
  c.failCreateFor = new Set(extra.failCreateFor ?? []);
  c.calls.length = 0;
  c.assumedRoles.length = 0;
  c.workers.length = 0;
  workerCalls.length = 0;
}

async function startMachine(account: string, token = 'task-token-1', options: { enabled?: boolean; sessionId?: (account: string) => Promise<string> } = {}) {
  const body = { ...policy, ...(options.enabled === undefined ? {} : { enabled: options.enabled }) };
  const sessionId = options.sessionId ? await options.sessionId(account) : undefined;
  return machine.start(account, body, { token, input: sessionId ? { sessionId } : {} });
}

async function runMachine(account: string, token = 'task-token-1', options: Parameters<typeof startMachine>[2] = {}) {
  const execution = await startMachine(account, token, options);
  const output = (await execution.result) as { sessionId: string; status: string };
  const tasks = await store.listTasks(asAccountId(account), asSessionId(output.sessionId));
  const session = await store.getSession(asAccountId(account), asSessionId(output.sessionId));
  return { output, tasks, session };
}

describe('backup state machine (CDK definition, run locally)', () => {
  it('protects 3 resources in 2 regions: one session succeeded, 3 task records, workers for the due instances', async () => {
    resetCloud();
    const { output, tasks, session } = await runMachine('tenant-ok');
    assert.equal(output.status, 'succeeded');
    assert.equal(session?.status, 'succeeded');
    assert.deepEqual(tasks.map((t) => [t.resourceId, t.status]), [['db-orders', 'succeeded'], ['i-aaaa', 'succeeded'], ['i-bbbb', 'succeeded']]);
    const sessions = await store.listSessions(asAccountId('tenant-ok'), { limit: 10 });
    assert.equal(sessions.sessions.length, 1);
    // Crash-consistent instance sets (2 + 1 volumes) and one DB snapshot, all tagged and completed.
    assert.equal(aws.cloud.snapshots.length, 4);
    for (const s of aws.cloud.snapshots) {
      assert.equal(s.state, 'completed');
      assert.equal(s.tags['cloudkeep:managed'], 'true');
      assert.equal(s.tags['cloudkeep:session'], output.sessionId);
    }
    assert.ok(aws.cloud.calls.includes('ec2:CreateSnapshots:us-east-1') && aws.cloud.calls.includes('ec2:CreateSnapshots:eu-west-1'));
    assert.ok(aws.cloud.calls.includes('rds:CreateDBSnapshot:eu-west-1'));
    // Snapshots stay pending for one check, so each item went round the Wait/Check loop.
    assert.ok(aws.cloud.calls.filter((c) => c.startsWith('ec2:DescribeSnapshots')).length >= 4);
    assert.ok(!aws.cloud.calls.some((c) => c.startsWith('ec2:CreateSnapshots') && aws.cloud.snapshots.some((s) => s.volumeId === 'vol-u1')));
    assert.ok(aws.cloud.assumedRoles.length > 0 && aws.cloud.assumedRoles.every((r) => r.roleArn === ROLE && r.externalId === EXTERNAL_ID));
    // Image backups are due for the never-backed-up instances, not for the database.
    assert.deepEqual(workerCalls.map((w) => w.resourceId).sort(), ['i-aaaa', 'i-bbbb']);
    const token = await dynalite.client().send(new GetItemCommand({ TableName: table, Key: { pk: { S: 'ACCOUNT#tenant-ok' }, sk: { S: `WORKER#${output.sessionId}#i-aaaa` } } }));
    assert.equal(token.Item?.token?.S, 'task-token-1');
  });

  it('records a resource whose CreateSnapshots fails as failed, the others succeed: session partial', async () => {
    resetCloud({ failCreateFor: ['i-bbbb'] });
    const { output, tasks, session } = await runMachine('tenant-partial');
    assert.equal(output.status, 'partial');
    assert.equal(session?.status, 'partial');
    const byId = Object.fromEntries(tasks.map((t) => [t.resourceId, t]));
    assert.equal(byId['i-bbbb'].status, 'failed');
    assert.match(byId['i-bbbb'].error ?? '', /Cloudkeep\.CloudCallFailed.*CreateSnapshots.*SnapshotCreationPerVolumeRateExceeded/);
    assert.equal(byId['i-aaaa'].status, 'succeeded');
    assert.equal(byId['db-orders'].status, 'succeeded');
    assert.match(session?.message ?? '', /1 of 3 resource\(s\) failed: i-bbbb/);
  });

  it('snapshot retention deletes old snapshots but never the volume-state base snapshot', async () => {
    const now = Date.now();
    const tags = { 'cloudkeep:managed': 'true', 'cloudkeep:resource': 'i-aaaa' };
    const old = (id: string, days: number): FakeSnapshot => ({ id, region: 'us-east-1', volumeId: 'vol-a1', state: 'completed', startTime: now - days * DAY, tags, checks: 0 });
    resetCloud({ snapshots: [old('snap-base', 12), old('snap-old1', 10), old('snap-old2', 9)] });
    const account = asAccountId('tenant-retention');
    await store.setVolumeState(account, asRegionName('us-east-1'), asVolumeId('vol-a1'), { baseSnapshotId: 'snap-base', lastRestorePointId: 'rp-1' }, null);
    await store.setVolumeState(account, asRegionName('us-east-1'), asVolumeId('vol-a2'), { baseSnapshotId: 'snap-none', lastRestorePointId: 'rp-1' }, null);
    const { output } = await runMachine('tenant-retention');
    assert.equal(output.status, 'succeeded');
    const left = aws.cloud.snapshots.filter((s) => s.volumeId === 'vol-a1').map((s) => s.id);
    // keepLast 2 keeps the new snapshot and snap-old2; snap-old1 goes; snap-base stays as the next incremental's base.
    assert.ok(left.includes('snap-base') && left.includes('snap-old2') && !left.includes('snap-old1'), left.join(', '));
    assert.equal(left.length, 3);
    assert.ok(aws.cloud.calls.includes('ec2:DeleteSnapshot:us-east-1'));
    // i-aaaa was backed up just now (volume state), so no worker for it; i-bbbb still gets one.
    assert.deepEqual(workerCalls.map((w) => w.resourceId), ['i-bbbb']);
  });

  it('a scheduled run of a disabled policy records nothing and ends at once; run now of it (with its session) runs', async () => {
    resetCloud();
    const execution = await startMachine('tenant-disabled', 'task-token-1', { enabled: false });
    const output = (await execution.result) as { run: { skipped: boolean; reason: string } };
    assert.equal(output.run.skipped, true);
    assert.match(output.run.reason, /policy web is disabled/);
    assert.equal((await store.listSessions(asAccountId('tenant-disabled'), { limit: 10 })).sessions.length, 0);
    assert.deepEqual(aws.cloud.calls.filter((c) => !c.startsWith('sts:')), []);
    assert.equal(aws.cloud.assumedRoles.length, 0);

    const created = async (account: string) => (await store.createSession(asAccountId(account), asPolicyId('web'))).id;
    const { output: ran, session } = await runMachine('tenant-disabled-now', 'task-token-1', { enabled: false, sessionId: created });
    assert.equal(ran.status, 'succeeded');
    assert.equal(session?.status, 'succeeded');
    assert.equal((await store.listSessions(asAccountId('tenant-disabled-now'), { limit: 10 })).sessions.length, 1, 'the session run now made, no second one');
  });

  it('a run given a session that is not a running one of its policy fails before discovering anything', async () => {
    resetCloud();
    const finished = async (account: string) => {
      const s = await store.createSession(asAccountId(account), asPolicyId('web'));
      await store.updateSession(asAccountId(account), s.id, { status: 'succeeded', message: 'done' });
      return s.id;
    };
    const execution = await startMachine('tenant-stale-session', 'task-token-1', { sessionId: finished });
    await assert.rejects(execution.result, (err: Error & { cause?: unknown }) => /is succeeded; expected a running session/.test(`${err.message} ${String(err.cause ?? '')} ${JSON.stringify(err)}`));
    assert.ok(!aws.cloud.calls.some((c) => c.startsWith('ec2:Describe')), 'no discovery');
  });
});
