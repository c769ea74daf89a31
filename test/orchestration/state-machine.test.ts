// Runs the CDK-synthesized backup state machine locally: real handlers, real SDK clients, fake EC2/RDS/STS, dynalite.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { StateMachine } from 'aws-local-stepfunctions';
import { asAccountId, asPolicyId, asRegionName, asSessionId, asVolumeId } from '../../core/control/control-ids.ts';
import type { JsonObject } from '../../core/control/control-store.ts';
import { parsePolicy } from '../../core/policy/policy-schema.ts';
import { buildCloudkeepApp } from '../../infra/cloudkeep-app.ts';
import { DynamoDbControlStore } from '../../providers/aws/dynamodb-control-store.ts';
import { createControlTable } from '../../providers/aws/dynamodb-control-table.ts';
import { testApp } from '../infra/cdk-test-app.ts';
import { startDynalite, type Dynalite } from '../support/dynalite.ts';
import { startFakeAwsServer, type FakeAwsServer, type FakeSnapshot } from '../support/fake-aws-query-server.ts';
import { stateMachineDefinition } from '../support/state-machine-definition.ts';

const MEMBER = '444455556666';
const ROLE = `arn:aws:iam::${MEMBER}:role/cloudkeep-member`;
const EXTERNAL_ID = 'external-id-0123456789';
const DAY = 86_400_000;

const policy = parsePolicy({
  id: 'web', name: 'Web servers', account: { provider: 'aws', id: MEMBER, roleArn: ROLE }, regions: ['us-east-1', 'eu-west-1'],
  selection: { resourceTypes: ['ec2-instance', 'rds-instance'], tags: { backup: 'daily' } },
  snapshots: { schedule: 'rate(1 day)', timeZone: 'UTC', retention: { keepLast: 2 } },
  backup: { schedule: 'rate(1 day)', timeZone: 'UTC', retention: { keepDaily: 7 }, repository: 's3://backups/web' },
  worker: { instanceSize: [{ upToGiB: 100, type: 'm7g.large' }], subnets: { 'us-east-1': ['subnet-0a0a0a0a'], 'eu-west-1': ['subnet-0b0b0b0b'] }, spotAllowed: false },
}, 'test policy');

// Built once: synth (no validation, no bundling) and the resolved definition.
const app = testApp();
buildCloudkeepApp(app, { memberTrust: { controlPlaneRoleArn: 'arn:aws:iam::111122223333:role/control', externalId: EXTERNAL_ID } });
const definition = stateMachineDefinition(app.synth().getStackByName('CloudkeepControlPlane').template);

let dynalite: Dynalite;
let aws: FakeAwsServer;
let store: DynamoDbControlStore;
let table: string;
type Handler = (event: unknown) => Promise<unknown>;
let handlers: Record<string, Handler>;
const workerCalls: { token: string; resourceId: string }[] = [];
let validated = false;

before(async () => {
  [dynalite, aws] = await Promise.all([startDynalite(), startFakeAwsServer()]);
  table = dynalite.tableName();
  await createControlTable(dynalite.client(), table);
  store = new DynamoDbControlStore({ client: dynalite.client(), tableName: table });
  // The composition root reads these once, on the first handler call.
  Object.assign(process.env, {
    AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', CONTROL_TABLE_NAME: table, CLOUDKEEP_EXTERNAL_ID: EXTERNAL_ID,
    CLOUDKEEP_ENDPOINT_DYNAMODB: dynalite.endpoint, CLOUDKEEP_ENDPOINT_EC2: aws.endpoint, CLOUDKEEP_ENDPOINT_RDS: aws.endpoint, CLOUDKEEP_ENDPOINT_STS: aws.endpoint,
    CLOUDKEEP_AWS_MAX_ATTEMPTS: '1', POWERTOOLS_LOG_LEVEL: 'SILENT',
    CLOUDKEEP_WORKER_LAUNCH_TEMPLATE: 'cloudkeep-worker', CLOUDKEEP_WORKER_KEY: 'aws-kms:arn:aws:kms:us-east-1:111122223333:key/test',
  });
  const load = async (file: string) => ((await import(`../../functions/${file}.ts`)) as { handler: Handler }).handler;
  handlers = {
    LoadPolicy: await load('load-policy'), Discover: await load('discover'), TakeSnapshots: await load('take-snapshots'), CheckSnapshots: await load('check-snapshots'),
    PruneSnapshots: await load('prune-snapshots'), StartWorker: await load('start-worker'), RecordSession: await load('record-session'),
  };
});

after(async () => {
  await Promise.all([dynalite?.stop(), aws?.stop()]);
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

async function runMachine(account: string, token = 'task-token-1') {
  await store.putPolicy(asAccountId(account), { id: asPolicyId('web'), name: policy.name, body: policy as unknown as JsonObject }, 0);
  const machine = new StateMachine(definition as never, { validationOptions: { noValidate: validated } });
  validated = true;
  const local = (name: string) => async (input: unknown) => (await handlers[name](input)) as never;
  const execution = machine.run({ account, policyId: 'web', maxConcurrency: 2 } as never, {
    context: { Task: { Token: token } } as never,
    overrides: {
      taskResourceLocalHandlers: {
        ...Object.fromEntries(['LoadPolicy', 'Discover', 'TakeSnapshots', 'CheckSnapshots', 'PruneSnapshots', 'RecordSession'].map((n) => [n, local(n)])),
        // .waitForTaskToken: the real handler records the token; the return stands for the worker's SendTaskSuccess.
        StartWorker: async (input: unknown) => {
          const payload = ((input as { Payload?: unknown }).Payload ?? input) as { taskToken: string; item: { resource: { id: string } } };
          await handlers.StartWorker(payload);
          workerCalls.push({ token: payload.taskToken, resourceId: payload.item.resource.id });
          return { restorePointId: `rp-${payload.item.resource.id}`, storedBytes: 1024 };
        },
      },
      waitTimeOverrides: { WaitForSnapshots: 0 },
      retryIntervalOverrides: { TakeSnapshots: 0, CheckSnapshots: 0, PruneSnapshots: 0, Discover: 0, LoadPolicy: 0, RecordSession: 0, CleanupWorker: 0, FailSession: 0 },
    },
  });
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
});
