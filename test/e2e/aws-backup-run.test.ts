// The deployed backup definition end to end: the CDK-synthesized state machine run locally with its real
// Lambda handlers (dynalite, fake EC2/STS), and each worker it launches run for real from its RunInstances
// user data against the EBS direct APIs and Step Functions test servers. A full run, then an incremental
// run that reads only the changed blocks (GetSnapshotBlock counted), then a throttled run.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { StateMachine } from 'aws-local-stepfunctions';
import { asAccountId, asPolicyId, asRegionName, asSessionId, asVolumeId } from '../../core/control/control-ids.ts';
import type { JsonObject } from '../../core/control/control-store.ts';
import { systemClock } from '../../core/clock.ts';
import { PassphraseKeyProvider } from '../../core/crypto/passphrase-key-provider.ts';
import { InlineBlockProcessor } from '../../core/engine/block-processor.ts';
import { restoreDisk } from '../../core/engine/restore.ts';
import { verifyRepository } from '../../core/maintenance/verify.ts';
import { parsePolicy } from '../../core/policy/policy-schema.ts';
import { DEFAULT_PARAMS } from '../../core/repo/config.ts';
import { Repository } from '../../core/repo/repository.ts';
import { buildCloudkeepApp } from '../../infra/cloudkeep-app.ts';
import { DynamoDbControlStore } from '../../providers/aws/dynamodb-control-store.ts';
import { createControlTable } from '../../providers/aws/dynamodb-control-table.ts';
import { FileObjectStore } from '../../providers/local/file-object-store.ts';
import { parseTask } from '../../worker-image/task.ts';
import { runWorker } from '../../worker-image/worker-main.ts';
import { testApp } from '../infra/cdk-test-app.ts';
import { BufferSink } from '../support/buffer-volume.ts';
import { startDynalite, type Dynalite } from '../support/dynalite.ts';
import { BLOCK, EbsTestServer } from '../support/ebs-test-server.ts';
import { startFakeAwsServer, type FakeAwsServer } from '../support/fake-aws-query-server.ts';
import { prng } from '../support/images.ts';
import { FAST_SCRYPT } from '../support/repo-fixture.ts';
import { SfnTestServer } from '../support/sfn-test-server.ts';
import { stateMachineDefinition } from '../support/state-machine-definition.ts';

const MEMBER = '444455556666';
const ROLE = `arn:aws:iam::${MEMBER}:role/cloudkeep-member`;
const PASS = 'e2e-worker-passphrase-41c2';
const TIMEOUT = { timeout: 120_000 };
/** Blocks with data on each volume at day 1 (the rest of the 1 GiB volumes is never written). */
const VOLUMES: Record<string, number[]> = { 'vol-a1': [0, 1, 2, 3, 64, 65, 1000], 'vol-a2': [5, 6, 7, 8, 9], 'vol-b1': [0, 10, 20, 30, 40, 50] };

let dynalite: Dynalite;
let aws: FakeAwsServer;
let ebs: EbsTestServer;
let sfn: SfnTestServer;
let store: DynamoDbControlStore;
let dir: string;
let table: string;
let repo: Repository;
type Handler = (event: unknown) => Promise<unknown>;
const handlers: Record<string, Handler> = {};
const NAMES = { LoadPolicy: 'load-policy', Discover: 'discover', TakeSnapshots: 'take-snapshots', CheckSnapshots: 'check-snapshots', PruneSnapshots: 'prune-snapshots',
  StartWorker: 'start-worker', RecordSession: 'record-session', FailSession: 'record-session', CleanupWorker: 'cleanup-worker' };

const app = testApp();
buildCloudkeepApp(app, { memberTrust: { controlPlaneRoleArn: 'arn:aws:iam::111122223333:role/cloudkeep-orchestration', externalId: 'external-id-0123456789' } });
const definition = stateMachineDefinition(app.synth().getStackByName('CloudkeepControlPlane').template);

/** A store on a new client: dynalite resets sockets that stayed idle while a run went on (TimeoutError / ECONNRESET). */
const freshStore = () => new DynamoDbControlStore({ client: dynalite.client(), tableName: table });

/** The current bytes of every volume, block by block (what a snapshot taken now contains). */
const disks = new Map<string, Map<number, Buffer>>();
/** The newest snapshot per volume in the EBS test server: the lineage of the next one. */
const lastSnapshot = new Map<string, string>();

before(async () => {
  [dynalite, aws, ebs, sfn] = await Promise.all([startDynalite(), startFakeAwsServer(), EbsTestServer.start(), SfnTestServer.start()]);
  table = dynalite.tableName();
  await createControlTable(dynalite.client(), table);
  store = new DynamoDbControlStore({ client: dynalite.client(), tableName: table });
  dir = await mkdtemp(join(tmpdir(), 'ck-e2e-aws-'));
  repo = await Repository.init(new FileObjectStore(dir), new PassphraseKeyProvider(PASS, FAST_SCRYPT), { ...DEFAULT_PARAMS, packTargetSize: 1024 * 1024 }, systemClock);
  Object.assign(process.env, {
    AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', CONTROL_TABLE_NAME: table, CLOUDKEEP_EXTERNAL_ID: 'external-id-0123456789',
    CLOUDKEEP_ENDPOINT_DYNAMODB: dynalite.endpoint, CLOUDKEEP_ENDPOINT_EC2: aws.endpoint, CLOUDKEEP_ENDPOINT_RDS: aws.endpoint, CLOUDKEEP_ENDPOINT_STS: aws.endpoint,
    CLOUDKEEP_AWS_MAX_ATTEMPTS: '1', POWERTOOLS_LOG_LEVEL: 'SILENT', CLOUDKEEP_WORKER_LAUNCH_TEMPLATE: 'cloudkeep-worker', CLOUDKEEP_WORKER_KEY: 'passphrase',
  });
  for (const [state, file] of Object.entries(NAMES)) handlers[state] = ((await import(`../../functions/${file}.ts`)) as { handler: Handler }).handler;
  for (const [volumeId, blocks] of Object.entries(VOLUMES)) disks.set(volumeId, new Map(blocks.map((b) => [b, prng(`${volumeId}-${b}`, BLOCK)])));
  aws.cloud.instances = [
    { id: 'i-aaaa', region: 'us-east-1', volumeIds: ['vol-a1', 'vol-a2'], tags: { backup: 'daily' }, volumeSizeGiB: 1 },
    { id: 'i-bbbb', region: 'eu-west-1', volumeIds: ['vol-b1'], tags: { backup: 'daily' }, volumeSizeGiB: 1 },
  ];
  aws.cloud.databases = [];
  await store.putPolicy(asAccountId(MEMBER), { id: asPolicyId('web'), name: 'Web', body: parsePolicy({
    id: 'web', name: 'Web', account: { provider: 'aws', id: MEMBER, roleArn: ROLE }, regions: ['us-east-1', 'eu-west-1'],
    selection: { resourceTypes: ['ec2-instance'], tags: { backup: 'daily' } },
    snapshots: { schedule: 'rate(1 day)', timeZone: 'UTC', retention: { keepLast: 3 } },
    backup: { schedule: 'rate(1 day)', timeZone: 'UTC', retention: { keepDaily: 7 }, repository: `file://${dir}` },
    worker: { instanceSize: [{ upToGiB: 100, type: 'm7g.large' }], subnets: { 'us-east-1': ['subnet-0a0a0a0a'], 'eu-west-1': ['subnet-0b0b0b0b'] }, spotAllowed: false },
  }, 'e2e policy') as unknown as JsonObject }, 0);
});

after(async () => {
  await Promise.all([dynalite?.stop(), aws?.stop(), ebs?.close(), sfn?.close()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** The EC2 snapshots TakeSnapshots just created exist in the EBS test server too, with the volume's bytes now. */
function mirrorSnapshots(): void {
  for (const s of aws.cloud.snapshots) {
    if (!s.volumeId || ebs.snapshots.has(s.id)) continue;
    const parent = lastSnapshot.get(s.volumeId) ?? null;
    ebs.snapshots.set(s.id, {
      id: s.id, volumeId: s.volumeId, parent, sizeGiB: 1, blocks: new Map(disks.get(s.volumeId)), status: 'completed',
      startTime: new Date(s.startTime), description: '', tags: s.tags, putCount: 0,
    });
    lastSnapshot.set(s.volumeId, s.id);
  }
}

const REGION_OF: Record<string, string> = { 'vol-a1': 'us-east-1', 'vol-a2': 'us-east-1', 'vol-b1': 'eu-west-1' };

/** Moves every volume's last backup 3 days back (through a store whose clock is 3 days behind): the next run's backups are due. */
async function ageVolumeStates(): Promise<void> {
  const past = new DynamoDbControlStore({ client: dynalite.client(), tableName: table, clock: { now: () => Date.now() - 3 * 86_400_000 } });
  const now = freshStore();
  for (const [volumeId, region] of Object.entries(REGION_OF)) {
    const state = await now.getVolumeState(asAccountId(MEMBER), asRegionName(region), asVolumeId(volumeId));
    assert.ok(state, `the first run recorded the state of ${volumeId}`);
    await past.setVolumeState(asAccountId(MEMBER), asRegionName(region), asVolumeId(volumeId), { baseSnapshotId: state.baseSnapshotId, lastRestorePointId: state.lastRestorePointId }, state.baseSnapshotId);
  }
}

/** One run of the policy: the worker behind each StartWorker is runWorker on the task from the RunInstances user data. */
async function runPolicy() {
  if (lastSnapshot.size > 0) await ageVolumeStates();
  const machine = new StateMachine(definition as never, { validationOptions: { noValidate: true } });
  const local = (name: string) => async (input: unknown) => (await handlers[name](input)) as never;
  let n = 0;
  const execution = machine.run({ account: MEMBER, policyId: 'web', maxConcurrency: 2 } as never, {
    context: { Task: { Token: 'token' } } as never,
    overrides: {
      taskResourceLocalHandlers: {
        ...Object.fromEntries(Object.keys(NAMES).filter((s) => s !== 'StartWorker' && s !== 'TakeSnapshots').map((s) => [s, local(s)])),
        TakeSnapshots: async (input: unknown) => {
          const out = await handlers.TakeSnapshots(input);
          mirrorSnapshots();
          return out as never;
        },
        StartWorker: async (input: unknown) => {
          const payload = { ...(((input as { Payload?: object }).Payload ?? input) as object), taskToken: `e2e-token-${++n}-${Date.now()}` } as { taskToken: string };
          await handlers.StartWorker(payload);
          const task = aws.cloud.workers.map((w) => parseTask(Buffer.from(w.params.UserData, 'base64').toString('utf8'))).find((t) => t.taskToken === payload.taskToken);
          assert.ok(task, 'StartWorker launched an instance with the task token in its task document');
          const result = await runWorker({ task, env: { CLOUDKEEP_PASSPHRASE: PASS }, sfn: sfn.client(), ebs: ebs.ebsClient(), ec2: ebs.ec2Client(), threads: 1, scrypt: FAST_SCRYPT, heartbeatMs: 60_000, logger: { info() {}, warn() {}, error() {}, appendKeys() {} } });
          assert.equal(result.exitCode, 0, JSON.stringify(result.failure));
          const success = sfn.of('SendTaskSuccess').find((c) => c.taskToken === payload.taskToken);
          assert.ok(success?.output, 'the worker reported SendTaskSuccess with its task token');
          return JSON.parse(success.output) as never;
        },
      },
      waitTimeOverrides: { WaitForSnapshots: 0 },
      retryIntervalOverrides: Object.fromEntries(Object.keys(NAMES).map((s) => [s, 0])),
    },
  });
  const output = (await execution.result.catch(async (err: unknown) => {
    const [session] = (await freshStore().listSessions(asAccountId(MEMBER), { limit: 1 })).sessions;
    const failed = session ? await freshStore().listTasks(asAccountId(MEMBER), session.id) : [];
    throw new Error(`the run failed: ${(err as Error).message}; tasks: ${failed.map((t) => `${t.resourceId}: ${t.error}`).join('; ')}`);
  })) as { sessionId: string; status: string };
  const tasks = await freshStore().listTasks(asAccountId(MEMBER), asSessionId(output.sessionId));
  return { output, tasks };
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Restores every disk of the resource's newest point and compares it with the volume's bytes now. */
const inlineProcessor = () => new InlineBlockProcessor({ chunking: repo.params.chunking, compressionLevel: repo.params.compression.level, chunkIdKey: repo.master.chunkIdKey, treeIdKey: repo.master.treeIdKey });

async function assertNewestPointsEqualDisks(): Promise<void> {
  const index = await repo.loadIndexForRestore();
  const processor = inlineProcessor();
  const points = await repo.listManifests();
  for (const resource of ['i-aaaa', 'i-bbbb']) {
    const newest = points.filter((m) => m.resource.id === resource).at(-1)!;
    for (const d of newest.disks) {
      const sink = new BufferSink();
      await restoreDisk({ repo, index, processor }, newest, d.name, sink);
      const expected = Buffer.alloc(d.size);
      for (const [b, data] of disks.get(d.name) ?? []) data.copy(expected, b * BLOCK);
      assert.equal(sha(sink.data), sha(expected), `${resource} disk ${d.name} restores to the volume's bytes`);
    }
  }
  await processor.close();
}

describe('the deployed backup definition, end to end with real workers (EBS direct APIs)', () => {
  it('a full run backs up every volume of two instances in two regions; the restore points restore exactly', TIMEOUT, async () => {
    const { output, tasks } = await runPolicy();
    assert.equal(output.status, 'succeeded', tasks.map((t) => `${t.resourceId}: ${t.error}`).join('; '));
    assert.deepEqual(tasks.map((t) => [t.resourceId, t.status]).sort(), [['i-aaaa', 'succeeded'], ['i-bbbb', 'succeeded']]);
    const blocksWithData = Object.values(VOLUMES).reduce((n, b) => n + b.length, 0);
    assert.equal(ebs.getBlockCalls, blocksWithData, 'a full backup reads each block with data once');
    const points = await repo.listManifests();
    assert.equal(points.length, 2);
    assert.ok(points.every((m) => m.kind === 'full' && m.resource.account === MEMBER));
    await assertNewestPointsEqualDisks();
  });

  it('an incremental run reads only the changed blocks (GetSnapshotBlock counted), and its points restore exactly', TIMEOUT, async () => {
    disks.get('vol-a1')!.set(2, prng('day2-a1-2', BLOCK));
    disks.get('vol-a1')!.set(500, prng('day2-a1-500', BLOCK));
    disks.get('vol-b1')!.set(20, prng('day2-b1-20', BLOCK));
    const before = ebs.getBlockCalls;
    const callsBefore = ebs.calls.length;
    const { output } = await runPolicy();
    assert.equal(output.status, 'succeeded');
    assert.equal(ebs.getBlockCalls - before, 3, 'GetSnapshotBlock only for the 3 changed blocks');
    const ops = ebs.calls.slice(callsBefore);
    assert.ok(ops.includes('ListChangedBlocks') && !ops.includes('ListSnapshotBlocks'), `incrementals diff against the base snapshot: ${ops.join(', ')}`);
    const newest = (await repo.listManifests()).slice(-2);
    assert.ok(newest.every((m) => m.kind === 'incremental' && m.parent), 'both new points are incrementals of the first ones');
    await assertNewestPointsEqualDisks();
    process.stdout.write(`# incremental run EBS requests: ${JSON.stringify(Object.fromEntries([...new Set(ops)].map((op) => [op, ops.filter((o) => o === op).length])))}\n`);
  });

  it('throttled GetSnapshotBlock calls are retried with back-off; the run still succeeds and verifies clean', TIMEOUT, async () => {
    disks.get('vol-a2')!.set(6, prng('day3-a2-6', BLOCK));
    disks.get('vol-b1')!.set(0, prng('day3-b1-0', BLOCK));
    ebs.throttleNext = 3;
    const before = ebs.getBlockCalls;
    const { output } = await runPolicy();
    assert.equal(output.status, 'succeeded');
    assert.equal(ebs.throttleNext, 0, 'the throttled answers were served');
    assert.equal(ebs.getBlockCalls - before, 2 + 3, 'the 2 changed blocks, plus the 3 throttled attempts');
    await assertNewestPointsEqualDisks();
    const processor = inlineProcessor();
    const verify = await verifyRepository(repo, processor, { full: true }).finally(() => processor.close());
    assert.ok(verify.ok, JSON.stringify(verify.problems));
  });
});
