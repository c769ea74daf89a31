// The worker around the state machine, run locally: launch (RunInstances + task document), failure cleanup, run-level failures.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { StateMachine } from 'aws-local-stepfunctions';
import { asAccountId, asPolicyId, asRegionName, asSessionId, asVolumeId } from '../../core/control/control-ids.ts';
import type { JsonObject } from '../../core/control/control-store.ts';
import { parsePolicy } from '../../core/policy/policy-schema.ts';
import { buildCloudkeepApp } from '../../infra/cloudkeep-app.ts';
import { DynamoDbControlStore } from '../../providers/aws/dynamodb-control-store.ts';
import { createControlTable } from '../../providers/aws/dynamodb-control-table.ts';
import { parseTask } from '../../worker-image/task.ts';
import { testApp } from '../infra/cdk-test-app.ts';
import { startDynalite, type Dynalite } from '../support/dynalite.ts';
import { startFakeAwsServer, type FakeAwsServer, type FakeSnapshot } from '../support/fake-aws-query-server.ts';
import { stateMachineDefinition } from '../support/state-machine-definition.ts';

const MEMBER = '444455556666';
const ROLE = `arn:aws:iam::${MEMBER}:role/cloudkeep-member`;
const KEY = 'aws-kms:arn:aws:kms:us-east-1:111122223333:key/wrap';
const DAY = 86_400_000;
const SUBNETS = { 'us-east-1': ['subnet-0a0a0a0a', 'subnet-0a0a0a0b'], 'eu-west-1': ['subnet-0b0b0b0b'] };

const policyBody = (spotAllowed: boolean) => parsePolicy({
  id: 'web', name: 'Web', account: { provider: 'aws', id: MEMBER, roleArn: ROLE }, regions: ['us-east-1', 'eu-west-1'],
  selection: { resourceTypes: ['ec2-instance'], tags: { backup: 'daily' } },
  snapshots: { schedule: 'rate(1 day)', timeZone: 'UTC', retention: { keepLast: 5 } },
  backup: { schedule: 'rate(1 day)', timeZone: 'UTC', retention: { keepDaily: 7 }, repository: 's3://backups/web' },
  worker: { instanceSize: [{ upToGiB: 50, type: 'm7g.large' }, { upToGiB: 200, type: 'm7g.xlarge' }, { upToGiB: 1000, type: 'm7g.2xlarge' }], subnets: SUBNETS, spotAllowed },
  tags: { team: 'web' },
}, 'test policy');

const app = testApp();
buildCloudkeepApp(app, { memberTrust: { controlPlaneRoleArn: 'arn:aws:iam::111122223333:role/cloudkeep-orchestration', externalId: 'external-id-0123456789' } });
const definition = stateMachineDefinition(app.synth().getStackByName('CloudkeepControlPlane').template);

let dynalite: Dynalite;
let aws: FakeAwsServer;
let store: DynamoDbControlStore;
let past: DynamoDbControlStore;
type Handler = (event: unknown) => Promise<unknown>;
const handlers: Record<string, Handler> = {};
const NAMES = { LoadPolicy: 'load-policy', Discover: 'discover', TakeSnapshots: 'take-snapshots', CheckSnapshots: 'check-snapshots', PruneSnapshots: 'prune-snapshots',
  StartWorker: 'start-worker', RecordSession: 'record-session', FailSession: 'record-session', CleanupWorker: 'cleanup-worker' };

before(async () => {
  [dynalite, aws] = await Promise.all([startDynalite(), startFakeAwsServer()]);
  const table = dynalite.tableName();
  await createControlTable(dynalite.client(), table);
  store = new DynamoDbControlStore({ client: dynalite.client(), tableName: table });
  past = new DynamoDbControlStore({ client: dynalite.client(), tableName: table, clock: { now: () => Date.now() - 3 * DAY } });
  Object.assign(process.env, {
    AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', CONTROL_TABLE_NAME: table, CLOUDKEEP_EXTERNAL_ID: 'external-id-0123456789',
    CLOUDKEEP_ENDPOINT_DYNAMODB: dynalite.endpoint, CLOUDKEEP_ENDPOINT_EC2: aws.endpoint, CLOUDKEEP_ENDPOINT_RDS: aws.endpoint, CLOUDKEEP_ENDPOINT_STS: aws.endpoint,
    CLOUDKEEP_AWS_MAX_ATTEMPTS: '1', POWERTOOLS_LOG_LEVEL: 'SILENT', CLOUDKEEP_WORKER_LAUNCH_TEMPLATE: 'cloudkeep-worker', CLOUDKEEP_WORKER_KEY: KEY,
  });
  for (const [state, file] of Object.entries(NAMES)) handlers[state] = ((await import(`../../functions/${file}.ts`)) as { handler: Handler }).handler;
});

after(async () => {
  await Promise.all([dynalite?.stop(), aws?.stop()]);
});

function resetCloud(snapshots: FakeSnapshot[] = []) {
  const c = aws.cloud;
  c.instances = [
    { id: 'i-aaaa', region: 'us-east-1', volumeIds: ['vol-a1', 'vol-a2'], tags: { backup: 'daily', Name: 'web-1' }, volumeSizeGiB: 40 },
    { id: 'i-bbbb', region: 'eu-west-1', volumeIds: ['vol-b1'], tags: { backup: 'daily' }, volumeSizeGiB: 2000 },
  ];
  c.databases = [];
  c.snapshots = snapshots;
  c.failCreateFor = new Set();
  c.calls.length = 0;
  c.workers.length = 0;
}

/** Runs the machine; StartWorker runs the real handler, then `worker` stands for the worker's answer (throw: failure). */
async function run(account: string, opts: { spot?: boolean; putPolicy?: boolean; failDiscover?: boolean; worker?: (resourceId: string) => unknown } = {}) {
  if (opts.putPolicy ?? true) await store.putPolicy(asAccountId(account), { id: asPolicyId('web'), name: 'Web', body: policyBody(opts.spot ?? false) as unknown as JsonObject }, 0);
  const machine = new StateMachine(definition as never, { validationOptions: { noValidate: true } });
  const local = (name: string) => async (input: unknown) => (await handlers[name](input)) as never;
  let n = 0;
  const execution = machine.run({ account, policyId: 'web', maxConcurrency: 2 } as never, {
    context: { Task: { Token: 'token' } } as never,
    overrides: {
      taskResourceLocalHandlers: {
        ...Object.fromEntries(Object.keys(NAMES).filter((s) => s !== 'StartWorker').map((s) => [s, local(s)])),
        ...(opts.failDiscover ? { Discover: async () => { throw Object.assign(new Error('DescribeInstances in us-east-1 failed: UnauthorizedOperation'), { name: 'Cloudkeep.CloudCallFailed' }); } } : {}),
        StartWorker: async (input: unknown) => {
          const payload = { ...(((input as { Payload?: object }).Payload ?? input) as object), taskToken: `token-${account}-${++n}` } as unknown as { item: { resource: { id: string } } };
          await handlers.StartWorker(payload);
          return (opts.worker ?? (() => ({ restorePointId: 'rp-new' })))(payload.item.resource.id) as never;
        },
      },
      waitTimeOverrides: { WaitForSnapshots: 0 },
      retryIntervalOverrides: Object.fromEntries(Object.keys(NAMES).map((s) => [s, 0])),
    },
  });
  let output: unknown;
  let error: unknown;
  try {
    output = await execution.result;
  } catch (err) {
    error = err;
  }
  const sessions = (await store.listSessions(asAccountId(account), { limit: 10 })).sessions;
  return { output: output as { sessionId: string; status: string } | undefined, error: error as Error | undefined, sessions };
}

const heartbeatTimeout = (failing: string) => (id: string) => {
  if (id !== failing) return { restorePointId: `rp-${id}` };
  throw Object.assign(new Error('the worker sent no heartbeat'), { name: 'States.HeartbeatTimeout' });
};

describe('worker lifecycle (CDK definition, run locally)', () => {
  it('launches each worker with RunInstances: instance type by size, subnet, spot, tags and the task document as user data', async () => {
    resetCloud([{ id: 'snap-base1', region: 'us-east-1', volumeId: 'vol-a1', state: 'completed', startTime: Date.now() - 4 * DAY, tags: { 'cloudkeep:managed': 'true' }, checks: 0 }]);
    const account = asAccountId('tenant-launch');
    await past.setVolumeState(account, asRegionName('us-east-1'), asVolumeId('vol-a1'), { baseSnapshotId: 'snap-base1', lastRestorePointId: 'rp-1' }, null);
    await past.setVolumeState(account, asRegionName('us-east-1'), asVolumeId('vol-a2'), { baseSnapshotId: 'snap-base2', lastRestorePointId: 'rp-1' }, null);
    const { output } = await run('tenant-launch', { spot: true });
    assert.equal(output?.status, 'succeeded');
    assert.equal(aws.cloud.workers.length, 2);
    const a = aws.cloud.workers.find((w) => w.region === 'us-east-1');
    const b = aws.cloud.workers.find((w) => w.region === 'eu-west-1');
    assert.ok(a && b);
    // 2 x 40 GiB -> m7g.xlarge (first upToGiB >= 80); 2000 GiB is above every entry -> the largest.
    assert.equal(a.params.InstanceType, 'm7g.xlarge');
    assert.equal(b.params.InstanceType, 'm7g.2xlarge');
    assert.ok(SUBNETS['us-east-1'].includes(a.params.SubnetId));
    assert.equal(b.params.SubnetId, 'subnet-0b0b0b0b');
    assert.equal(a.params['LaunchTemplate.LaunchTemplateName'], 'cloudkeep-worker');
    assert.equal(a.params['InstanceMarketOptions.MarketType'], 'spot');
    assert.equal(a.tags['cloudkeep:managed'], 'true');
    assert.equal(a.tags['cloudkeep:session'], output?.sessionId);
    assert.equal(a.tags['cloudkeep:resource'], 'i-aaaa');
    assert.equal(a.tags.team, 'web');
    const task = parseTask(Buffer.from(a.params.UserData, 'base64').toString('utf8'));
    assert.equal(task.kind, 'backup');
    assert.match(task.taskToken, /^token-tenant-launch-\d$/);
    assert.equal(task.account, MEMBER);
    assert.equal(task.repository, 's3://backups/web');
    assert.equal(task.key, KEY);
    assert.deepEqual(task.resource, { id: 'i-aaaa', kind: 'instance', account: MEMBER, region: 'us-east-1', name: 'web-1' });
    assert.equal(task.parentPointId, 'rp-1');
    assert.ok(task.limits?.readRps?.account !== undefined && task.limits.readRps.account <= 1000, 'no share of the account read quota');
    const newSnaps = aws.cloud.snapshots.filter((s) => s.tags['cloudkeep:session'] === output?.sessionId && s.region === 'us-east-1');
    assert.deepEqual(task.disks.map((d) => [d.volumeId, d.baseSnapshotId]).sort(), [['vol-a1', 'snap-base1'], ['vol-a2', 'snap-base2']]);
    assert.deepEqual(task.disks.map((d) => d.snapshotId).sort(), newSnaps.map((s) => s.id).sort());
    const bTask = parseTask(Buffer.from(b.params.UserData, 'base64').toString('utf8'));
    assert.equal(bTask.parentPointId, undefined, 'no volume state: a full backup');
    assert.equal(bTask.disks[0].baseSnapshotId, undefined);
    assert.equal(aws.cloud.workers.every((w) => w.state === 'running'), true);
  });

  it('a worker heartbeat timeout terminates its instance, deletes the run snapshots but not the base, fails only that task; the next run succeeds', async () => {
    const base: FakeSnapshot = { id: 'snap-b-base', region: 'eu-west-1', volumeId: 'vol-b1', state: 'completed', startTime: Date.now() - 4 * DAY, tags: { 'cloudkeep:managed': 'true', 'cloudkeep:resource': 'i-bbbb' }, checks: 0 };
    resetCloud([base]);
    const account = asAccountId('tenant-timeout');
    await past.setVolumeState(account, asRegionName('eu-west-1'), asVolumeId('vol-b1'), { baseSnapshotId: 'snap-b-base', lastRestorePointId: 'rp-0' }, null);
    const { output } = await run('tenant-timeout', { worker: heartbeatTimeout('i-bbbb') });
    assert.equal(output?.status, 'partial');
    const b = aws.cloud.workers.find((w) => w.region === 'eu-west-1');
    assert.equal(b?.state, 'terminated');
    assert.ok(aws.cloud.calls.includes('ec2:TerminateInstances:eu-west-1'));
    assert.equal(aws.cloud.workers.find((w) => w.region === 'us-east-1')?.state, 'running', 'the other worker is untouched');
    const left = aws.cloud.snapshots.filter((s) => s.volumeId === 'vol-b1').map((s) => s.id);
    assert.deepEqual(left, ['snap-b-base'], 'the run snapshots of i-bbbb are gone, the base stays');
    assert.equal(aws.cloud.snapshots.filter((s) => s.region === 'us-east-1').length, 2, 'i-aaaa keeps its snapshots');
    const tasks = Object.fromEntries((await store.listTasks(account, asSessionId(output?.sessionId ?? ''))).map((t) => [t.resourceId, t]));
    assert.equal(tasks['i-bbbb'].status, 'failed');
    assert.match(tasks['i-bbbb'].error ?? '', /worker failed: States\.HeartbeatTimeout/);
    assert.equal(tasks['i-aaaa'].status, 'succeeded');

    const second = await run('tenant-timeout', { putPolicy: false });
    assert.equal(second.output?.status, 'succeeded');
    assert.equal(second.sessions.find((s) => s.id === second.output?.sessionId)?.status, 'succeeded');
  });

  it('a failing Discover records the session failed with the error, never leaving it running', async () => {
    resetCloud();
    const { output, error, sessions } = await run('tenant-discover', { failDiscover: true });
    assert.equal(output, undefined);
    assert.ok(error, 'the execution fails (RunFailed)');
    assert.equal(sessions.length, 1);
    assert.equal(sessions[0].status, 'failed');
    assert.match(sessions[0].message ?? '', /run failed: Cloudkeep\.CloudCallFailed: DescribeInstances in us-east-1 failed/);
    assert.equal(aws.cloud.workers.length, 0);
  });
});
