// Runs the CDK-synthesized restore state machine locally: real handlers and worker, real SDK clients, EBS/EC2/SFN test servers, dynalite.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { StateMachine } from 'aws-local-stepfunctions';
import { systemClock } from '../../core/clock.ts';
import { asAccountId, asPolicyId } from '../../core/control/control-ids.ts';
import type { JsonObject } from '../../core/control/control-store.ts';
import { PassphraseKeyProvider } from '../../core/crypto/passphrase-key-provider.ts';
import { buildWorkerTask } from '../../core/orchestration/worker-run.ts';
import { parsePolicy } from '../../core/policy/policy-schema.ts';
import { DEFAULT_PARAMS } from '../../core/repo/config.ts';
import { Repository } from '../../core/repo/repository.ts';
import { buildCloudkeepApp } from '../../infra/cloudkeep-app.ts';
import { AwsDiscovery } from '../../providers/aws/aws-discovery.ts';
import { DynamoDbControlStore } from '../../providers/aws/dynamodb-control-store.ts';
import { createControlTable } from '../../providers/aws/dynamodb-control-table.ts';
import { FileObjectStore } from '../../providers/local/file-object-store.ts';
import { parseTask } from '../../worker-image/task.ts';
import { runWorker } from '../../worker-image/worker-main.ts';
import { testApp } from '../infra/cdk-test-app.ts';
import { startDynalite, type Dynalite } from '../support/dynalite.ts';
import { BLOCK, EbsTestServer } from '../support/ebs-test-server.ts';
import { startFakeAwsServer, type FakeAwsServer } from '../support/fake-aws-query-server.ts';
import { FakeEc2Restore } from '../support/fake-ec2-restore.ts';
import { prng } from '../support/images.ts';
import { FAST_SCRYPT } from '../support/repo-fixture.ts';
import { SfnTestServer } from '../support/sfn-test-server.ts';
import { stateMachineDefinition } from '../support/state-machine-definition.ts';

const MEMBER = '444455556666';
const ROLE = `arn:aws:iam::${MEMBER}:role/cloudkeep-member`;
const PASS = 'restore-test-passphrase-5e1b';
const REGION = 'eu-west-1';
const ZERO = Buffer.alloc(BLOCK);
const SG = ['sg-0a1b2c3d'];
const silent = { info: () => {}, warn: () => {}, error: () => {}, appendKeys: () => {} };

const app = testApp();
buildCloudkeepApp(app, { memberTrust: { controlPlaneRoleArn: 'arn:aws:iam::111122223333:role/cloudkeep-orchestration', externalId: 'external-id-0123456789' } });
const definition = stateMachineDefinition(app.synth().getStackByName('CloudkeepControlPlane').template, 'cloudkeep-restore');

let dynalite: Dynalite, ebs: EbsTestServer, sfn: SfnTestServer, aws: FakeAwsServer, ec2: FakeEc2Restore, store: DynamoDbControlStore;
let dir: string;
const handlers: Record<string, (event: unknown) => Promise<unknown>> = {};
const NAMES = {
  StartRestore: 'restore-start', RestoreDisks: 'restore-start-worker', ReleaseRestoreSlot: 'restore-release-slot', CreateRestoredVolumes: 'restore-create-volumes',
  CheckRestoredVolumes: 'restore-check-volumes', CopyInstanceSnapshots: 'restore-copy-snapshots', CheckSnapshotCopies: 'restore-copy-snapshots',
  RunRestoredInstance: 'restore-run-instance', RestoreCleanup: 'restore-cleanup',
};
const TENANT = asAccountId('tenant-a');
const points: Record<string, string> = {};
const originals: Record<string, Map<number, Buffer>> = {};

const policy = (repository: string) => parsePolicy({
  id: 'web', name: 'Web', account: { provider: 'aws', id: MEMBER, roleArn: ROLE }, regions: [REGION],
  selection: { resourceTypes: ['ec2-instance'], tags: { backup: 'daily' } },
  backup: { schedule: 'rate(1 day)', timeZone: 'UTC', retention: { keepDaily: 7 }, repository },
  worker: { instanceSize: [{ upToGiB: 50, type: 'm7g.large' }, { upToGiB: 500, type: 'm7g.xlarge' }], subnets: { [REGION]: ['subnet-0c0c0c0c'] }, spotAllowed: false },
}, 'test policy');

/** Runs a worker task in-process against the test servers; returns its SendTaskSuccess output or throws its failure. */
async function work(task: ReturnType<typeof parseTask>): Promise<Record<string, unknown>> {
  sfn.calls.length = 0;
  await runWorker({ task, env: { CLOUDKEEP_PASSPHRASE: PASS }, sfn: sfn.client(), ebs: ebs.ebsClient(), ec2: ebs.ec2Client(), threads: 1, heartbeatMs: 60_000, logger: silent });
  const [success] = sfn.of('SendTaskSuccess');
  if (success) return JSON.parse(success.output!) as Record<string, unknown>;
  const [failure] = sfn.of('SendTaskFailure');
  throw Object.assign(new Error(failure?.cause ?? 'the worker reported nothing'), { name: failure?.error ?? 'States.TaskFailed' });
}

function snapshotOf(volumeId: string, seed: string): string {
  const blocks = new Map([[0, prng(`${seed}/0`, BLOCK)], [3, prng(`${seed}/3`, BLOCK)], [9, Buffer.concat([prng(`${seed}/9`, BLOCK / 2), Buffer.alloc(BLOCK / 2)])]]);
  originals[volumeId] = blocks;
  return ebs.addSnapshot({ volumeId, sizeGiB: 1, blocks });
}

async function backupVolume(account: string, volumeId: string): Promise<string> {
  const snapshotId = snapshotOf(volumeId, volumeId);
  const out = await work(parseTask(JSON.stringify({
    kind: 'backup', taskToken: `backup-${volumeId}`, account, region: REGION, repository: `file://${dir}`, key: 'passphrase',
    resource: { id: volumeId, kind: 'volume', account, region: REGION }, disks: [{ name: volumeId, snapshotId, volumeId }],
  })));
  return out.pointId as string;
}

before(async () => {
  [dynalite, ebs, sfn, aws] = await Promise.all([startDynalite(), EbsTestServer.start(), SfnTestServer.start(), startFakeAwsServer()]);
  ec2 = new FakeEc2Restore(ebs);
  dir = await mkdtemp(join(tmpdir(), 'ck-restore-'));
  await Repository.init(new FileObjectStore(dir), new PassphraseKeyProvider(PASS, FAST_SCRYPT), DEFAULT_PARAMS, systemClock);
  const table = dynalite.tableName();
  await createControlTable(dynalite.client(), table);
  store = new DynamoDbControlStore({ client: dynalite.client(), tableName: table });
  Object.assign(process.env, {
    AWS_REGION: REGION, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', CONTROL_TABLE_NAME: table, CLOUDKEEP_EXTERNAL_ID: 'external-id-0123456789',
    CLOUDKEEP_ENDPOINT_DYNAMODB: dynalite.endpoint, CLOUDKEEP_ENDPOINT_EC2: ebs.endpoint, CLOUDKEEP_ENDPOINT_STS: aws.endpoint,
    CLOUDKEEP_AWS_MAX_ATTEMPTS: '1', POWERTOOLS_LOG_LEVEL: 'SILENT', CLOUDKEEP_WORKER_LAUNCH_TEMPLATE: 'cloudkeep-worker', CLOUDKEEP_WORKER_KEY: 'passphrase',
  });
  for (const [state, file] of Object.entries(NAMES)) handlers[state] = ((await import(`../../functions/${file}.ts`)) as { handler: (e: unknown) => Promise<unknown> }).handler;
  const p = policy(`file://${dir}`);
  await store.putPolicy(asAccountId('tenant-a'), { id: asPolicyId('web'), name: 'Web', body: p as unknown as JsonObject }, 0);

  points.volume = await backupVolume(MEMBER, 'vol-0data');
  points.foreign = await backupVolume('999988887777', 'vol-0other');
  // An instance backed up the way the backup state machine does it: discovery records its configuration, the worker task carries it.
  aws.cloud.instances = [{ id: 'i-0web', region: REGION, volumeIds: ['vol-0root', 'vol-0logs'], tags: { backup: 'daily', Name: 'web-1' }, config: { instanceType: 'm7g.medium', subnetId: 'subnet-0a0a0a0a', securityGroupIds: SG, availabilityZone: 'eu-west-1b', architecture: 'arm64' } }];
  const [found] = await new AwsDiscovery(undefined, { endpoints: { ec2: aws.endpoint }, maxAttempts: 1 }).list(REGION, ['ec2-instance']);
  const volumes = found.volumeIds.map((volumeId) => ({ volumeId, snapshotId: snapshotOf(volumeId, volumeId), sizeGiB: 1 }));
  const item = { run: { account: 'tenant-a', policyId: 'web', sessionId: 's-1', roleArn: ROLE }, resource: found, backupDue: true, tags: { 'cloudkeep:managed': 'true' } };
  points.instance = (await work(await buildWorkerTask(store, p, item, volumes, 'backup-i-0web', { keySpec: 'passphrase' }))).pointId as string;
});

after(async () => {
  await Promise.all([dynalite?.stop(), ebs?.close(), sfn?.close(), aws?.stop()]);
  await rm(dir, { recursive: true, force: true });
});

beforeEach(() => ec2.reset());

type Work = () => Promise<Record<string, unknown>>;

/** Runs a restore; `worker` wraps the RestoreDisks step (the launch handler, then the worker it launched). */
async function restore(name: string, request: Record<string, unknown>, worker: (run: Work) => Promise<Record<string, unknown>> = (run) => run()) {
  const machine = new StateMachine(definition as never, { validationOptions: { noValidate: true } });
  const local = (state: string) => async (input: unknown) => (await handlers[state](input)) as never;
  const execution = machine.run({ account: 'tenant-a', policyId: 'web', target: { region: REGION }, ...request } as never, {
    context: { Execution: { Name: name }, Task: { Token: `token-${name}` } } as never,
    overrides: {
      taskResourceLocalHandlers: {
        ...Object.fromEntries(Object.keys(NAMES).filter((s) => s !== 'RestoreDisks').map((s) => [s, local(s)])),
        // .waitForTaskToken: the real handler launches the worker; the worker (run here from its user data) reports with the token.
        RestoreDisks: async (input: unknown) => (await worker(async () => {
          await handlers.RestoreDisks((input as { Payload?: unknown }).Payload ?? input);
          const launched = ec2.workers.at(-1)!;
          return work(parseTask(Buffer.from(launched.params.UserData, 'base64').toString('utf8')));
        })) as never,
      },
      waitTimeOverrides: { WaitForVolumes: 0, WaitForCopies: 0 },
      retryIntervalOverrides: Object.fromEntries(Object.keys(NAMES).map((s) => [s, 0])),
    },
  });
  try {
    return { output: (await execution.result) as Record<string, any>, error: undefined };
  } catch (error) {
    return { output: undefined, error: error as Error & { cause?: unknown } };
  }
}

/** No worker slot of the tenant is held (a probe gets the only one), then the probe's is given back. */
async function assertNoSlotsHeld() {
  assert.equal(await store.acquireWorkerSlot(TENANT, 'probe/x', 1, 60_000), true, 'a worker slot is still held');
  await store.releaseWorkerSlots(TENANT, { holder: 'probe/x' });
}

function assertRestoredBytes(snapshotId: string, volumeId: string) {
  const restored = ebs.snapshots.get(snapshotId)!;
  assert.equal(restored.status, 'completed');
  const src = originals[volumeId];
  for (const i of new Set([...src.keys(), ...restored.blocks.keys()])) assert.ok((src.get(i) ?? ZERO).equals(restored.blocks.get(i) ?? ZERO), `block ${i} of ${volumeId} differs`);
}

describe('restore state machine (CDK definition, run locally)', () => {
  it('restores a volume: a new snapshot with the original bytes, then an available volume in the requested zone', async () => {
    const { output, error } = await restore('r-volume', { pointId: points.volume, volume: { availabilityZone: 'eu-west-1c' }, tags: { ticket: 'OPS-1' } });
    assert.equal(error, undefined, error?.message);
    assert.equal(output!.restore.mode, 'volume');
    const [s] = output!.restored.snapshots;
    assertRestoredBytes(s.snapshotId, 'vol-0data');
    assert.equal(ebs.snapshots.get(s.snapshotId)!.tags['cloudkeep:restore'], 'r-volume');
    assert.deepEqual(output!.volumes, { volumeIds: [ec2.volumes[0].id], available: true });
    assert.deepEqual([ec2.volumes[0].snapshotId, ec2.volumes[0].az, ec2.volumes[0].type, ec2.volumes[0].state], [s.snapshotId, 'eu-west-1c', 'gp3', 'available']);
    assert.equal(ec2.volumes[0].tags.ticket, 'OPS-1');
    assert.equal(ec2.workers[0].tags['cloudkeep:managed'], 'true');
    assert.equal(ec2.workers[0].params.InstanceType, 'm7g.xlarge');
    await assertNoSlotsHeld();
  });

  it('restores a whole instance: RunInstances with the recorded type, subnet, security groups, tags and every volume', async () => {
    const { output, error } = await restore('r-instance', { pointId: points.instance, instance: {} });
    assert.equal(error, undefined, error?.message);
    const snaps = output!.restored.snapshots as { volumeId: string; snapshotId: string }[];
    assert.deepEqual(snaps.map((s) => s.volumeId).sort(), ['vol-0logs', 'vol-0root']);
    for (const s of snaps) assertRestoredBytes(s.snapshotId, s.volumeId);
    const bySnap = Object.fromEntries(snaps.map((s) => [s.volumeId, s.snapshotId]));
    const [image] = ec2.images;
    assert.deepEqual([image.rootSnapshotId, image.rootDevice, image.architecture], [bySnap['vol-0root'], '/dev/xvda', 'arm64']);
    const [i] = ec2.instances;
    assert.equal(output!.instance.instanceId, i.id);
    assert.deepEqual([i.params.ImageId, i.params.InstanceType, i.params.SubnetId, i.params['SecurityGroupId.1']], [image.id, 'm7g.medium', 'subnet-0a0a0a0a', SG[0]]);
    assert.deepEqual([i.params['BlockDeviceMapping.1.DeviceName'], i.params['BlockDeviceMapping.1.Ebs.SnapshotId']], ['/dev/xvdb', bySnap['vol-0logs']]);
    assert.deepEqual([i.tags.Name, i.tags.backup, i.tags['cloudkeep:restore']], ['web-1', 'daily', 'r-instance']);
  });

  it('restores a whole instance into a member account: the shared snapshots are copied there with the member role, then imaged and launched', async () => {
    const assumed = aws.cloud.assumedRoles.length;
    const { output, error } = await restore('r-member', { pointId: points.instance, instance: {}, target: { region: REGION, roleArn: ROLE } });
    assert.equal(error, undefined, error?.message);
    const snaps = output!.restored.snapshots as { volumeId: string; snapshotId: string }[];
    for (const s of snaps) assertRestoredBytes(s.snapshotId, s.volumeId);
    assert.deepEqual(ec2.shares.map((x) => x.accountId), [MEMBER, MEMBER]);
    assert.deepEqual(ec2.copies.map((c) => c.sourceId).sort(), snaps.map((s) => s.snapshotId).sort());
    const copyOf = Object.fromEntries(ec2.copies.map((c) => [c.sourceId, c.id]));
    assert.deepEqual(output!.copies, { copies: copyOf, available: true });
    for (const c of ec2.copies) {
      const copy = ebs.snapshots.get(c.id)!;
      assert.deepEqual([copy.status, copy.tags['cloudkeep:restore'], copy.tags['cloudkeep:managed'], copy.tags['cloudkeep:copy-of']], ['completed', 'r-member', 'true', c.sourceId]);
    }
    const bySnap = Object.fromEntries(snaps.map((s) => [s.volumeId, s.snapshotId]));
    // The image and the instance use the copies (the member account's own snapshots), never the shared originals.
    assert.equal(ec2.images[0].rootSnapshotId, copyOf[bySnap['vol-0root']]);
    const [i] = ec2.instances;
    assert.deepEqual([i.params['BlockDeviceMapping.1.Ebs.SnapshotId'], i.params.InstanceType, i.tags['cloudkeep:restore']], [copyOf[bySnap['vol-0logs']], 'm7g.medium', 'r-member']);
    assert.ok(aws.cloud.assumedRoles.slice(assumed).some((r) => r.roleArn === ROLE && r.externalId === 'external-id-0123456789'));
    await assertNoSlotsHeld();
  });

  it('a failed launch in a member account deletes the image, the copies and the restored snapshots', async () => {
    const { error } = await restore('r-member-fail', { pointId: points.instance, instance: {}, target: { region: REGION, roleArn: ROLE } }, async (run) => {
      const out = await run();
      ec2.failNext.set('RunInstances', 'InsufficientInstanceCapacity');
      return out;
    });
    assert.match(`${error?.name} ${error?.message}`, /InsufficientInstanceCapacity/);
    assert.equal(ec2.copies.length, 2);
    assert.deepEqual([...ebs.snapshots.values()].filter((s) => s.tags['cloudkeep:restore'] === 'r-member-fail'), [], 'copies and restored snapshots are gone');
    assert.deepEqual([ec2.images.length, ec2.instances.length, ec2.workers[0].state], [0, 0, 'terminated']);
    await assertNoSlotsHeld();
  });

  it('waits for a worker slot when every slot of the account is taken, then restores and gives its slot back', async () => {
    for (let n = 1; n <= 4; n++) assert.equal(await store.acquireWorkerSlot(TENANT, `other-run/vol-${n}`, 4, 60_000), true);
    const attempts: string[] = [];
    const { output, error } = await restore('r-busy', { pointId: points.volume }, async (run) => {
      try {
        const out = await run();
        attempts.push('launched');
        return out;
      } catch (err) {
        attempts.push((err as Error).name);
        await store.releaseWorkerSlots(TENANT, { holder: 'other-run/vol-1' }); // a backup worker ends
        throw err;
      }
    });
    assert.equal(error, undefined, error?.message);
    assert.deepEqual(attempts, ['Cloudkeep.WorkerSlotsBusy', 'launched']);
    assert.equal(ec2.workers.length, 1, 'no worker while the slots were taken');
    assert.equal(output!.restore.mode, 'snapshot');
    await store.releaseWorkerSlots(TENANT, { sessionId: 'other-run' });
    await assertNoSlotsHeld();
  });

  it('a volume point cannot be restored as an instance: the error names the missing configuration, and the snapshot is cleaned up', async () => {
    const { error } = await restore('r-noconfig', { pointId: points.volume, instance: {} });
    assert.match(error?.message ?? '', /not an instance|does not record the instance configuration/);
    assert.ok(![...ebs.snapshots.values()].some((s) => s.tags['cloudkeep:restore'] === 'r-noconfig'));
  });

  it('a CreateVolume failure deletes the restored snapshot and terminates the worker', async () => {
    ec2.failCreateVolume = 'VolumeLimitExceeded';
    const { error } = await restore('r-fail', { pointId: points.volume, volume: { availabilityZone: 'eu-west-1c' } });
    assert.match(`${error?.name} ${error?.message}`, /VolumeLimitExceeded/);
    assert.ok(ebs.calls.includes('DeleteSnapshot'));
    assert.deepEqual([...ebs.snapshots.values()].filter((s) => s.tags['cloudkeep:restore'] === 'r-fail'), []);
    assert.equal(ec2.workers[0].state, 'terminated');
    assert.equal(ec2.volumes.length, 0);
    await assertNoSlotsHeld();
  });

  it("refuses a foreign account's restore point: nothing is written, the worker is terminated", async () => {
    const started = ebs.calls.filter((c) => c === 'StartSnapshot').length;
    const { error } = await restore('r-foreign', { pointId: points.foreign, volume: { availabilityZone: 'eu-west-1c' } });
    assert.equal((error?.cause as Error | undefined)?.name, 'Cloudkeep.ForeignRestorePoint');
    assert.match(error?.message ?? '', /belongs to account 999988887777, not 444455556666/);
    assert.equal(ebs.calls.filter((c) => c === 'StartSnapshot').length, started);
    assert.equal(ec2.workers[0].state, 'terminated');
  });

  it('refuses a target region without worker subnets and a role that is not the tenant\'s, before launching anything', async () => {
    const region = await restore('r-region', { pointId: points.volume, target: { region: 'us-west-2' } });
    assert.match(region.error?.message ?? '', /target region us-west-2 is not allowed.*allowed: eu-west-1/);
    const role = await restore('r-role', { pointId: points.volume, target: { region: REGION, roleArn: 'arn:aws:iam::123456789012:role/cloudkeep-member' } });
    assert.match(role.error?.message ?? '', /not a member role of account tenant-a/);
    assert.equal(ec2.workers.length, 0);
  });

  it('a stopped execution is cleaned up from its EventBridge event (name and input) like a failed one', async () => {
    const snap = ebs.addSnapshot({ sizeGiB: 1 });
    ebs.snapshots.get(snap)!.tags = { 'cloudkeep:restore': 'r-stopped', 'cloudkeep:managed': 'true' };
    const out = await handlers.RestoreCleanup({ restoreId: 'r-stopped', request: JSON.stringify({ account: 'tenant-a', target: { region: REGION } }) });
    assert.deepEqual((out as { snapshots: string[] }).snapshots, [snap]);
    assert.equal(ebs.snapshots.has(snap), false);
  });
});
