// The EC2 worker end to end: real SDK clients against the EBS and Step Functions test servers, a file repository, a passphrase key.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { EBSClient } from '@aws-sdk/client-ebs';
import { systemClock } from '../../core/clock.ts';
import { PassphraseKeyProvider } from '../../core/crypto/passphrase-key-provider.ts';
import { DEFAULT_PARAMS } from '../../core/repo/config.ts';
import { Repository } from '../../core/repo/repository.ts';
import { FileObjectStore } from '../../providers/local/file-object-store.ts';
import { describeFailure, EXIT, runWorker, type WorkerLogger, type WorkerOptions } from '../../worker-image/worker-main.ts';
import { BLOCK, EbsTestServer } from '../support/ebs-test-server.ts';
import { mixedImage, prng } from '../support/images.ts';
import { FAST_SCRYPT } from '../support/repo-fixture.ts';
import { SfnTestServer } from '../support/sfn-test-server.ts';

const PASS = 'worker-test-passphrase-7f3a';
const TOKEN = 'AQB8AAAAKgAAAAMAAAAAAAAAAfake-task-token-secret-9c1d';
const ACCOUNT = '111122223333';
const ZERO = Buffer.alloc(BLOCK);
const A_BLOCKS = [0, 1, 2, 3, 9, 100, 1023, 2047];

/** Every EBS request of this client waits `ms` first: a slowed run. */
function slowed(client: EBSClient, ms: number): EBSClient {
  const delay = (next: (a: unknown) => Promise<unknown>) => async (args: unknown) => {
    await sleep(ms);
    return next(args);
  };
  client.middlewareStack.add(delay as never, { step: 'initialize', name: 'testDelay' });
  return client;
}

function recorder() {
  const lines: Array<Record<string, unknown>> = [];
  let keys: Record<string, unknown> = {};
  const at = (level: string) => (message: string, extra?: Record<string, unknown>) => void lines.push({ level, message, ...keys, ...extra });
  const logger: WorkerLogger = { info: at('INFO'), warn: at('WARN'), error: at('ERROR'), appendKeys: (k) => void (keys = { ...keys, ...k }) };
  return { logger, lines };
}

describe('worker-main on EC2 (EBS + Step Functions test servers)', () => {
  let ebs: EbsTestServer;
  let sfn: SfnTestServer;
  let dir: string;
  let repo: Repository;
  let snapA: string;
  let snapB: string;
  let fullPoint = '';
  let incrementalPoint = '';

  before(async () => {
    ebs = await EbsTestServer.start();
    sfn = await SfnTestServer.start();
    dir = await mkdtemp(join(tmpdir(), 'ck-worker-'));
    repo = await Repository.init(new FileObjectStore(dir), new PassphraseKeyProvider(PASS, FAST_SCRYPT), { ...DEFAULT_PARAMS, packTargetSize: 1024 * 1024 }, systemClock);
    const image = mixedImage('worker-a', A_BLOCKS.length * BLOCK);
    snapA = ebs.addSnapshot({ volumeId: 'vol-0worker', sizeGiB: 1, blocks: new Map(A_BLOCKS.map((b, i) => [b, Buffer.from(image.subarray(i * BLOCK, (i + 1) * BLOCK))])) });
    snapB = ebs.addSnapshot({ parent: snapA, blocks: new Map<number, Buffer | null>([[2, prng('w2', BLOCK)], [100, null], [700, prng('w700', BLOCK)], [1500, prng('w1500', BLOCK)]]) });
  });
  after(async () => {
    await ebs.close();
    await sfn.close();
    await rm(dir, { recursive: true, force: true });
  });

  let runs = 0;
  /** A task document; each gets its own token, as each Step Functions task does. */
  function task(extra: Record<string, unknown> = {}) {
    return {
      kind: 'backup', taskToken: `${TOKEN}-${++runs}`, account: ACCOUNT, region: 'eu-west-1', repository: `file://${dir}`, key: 'passphrase',
      resource: { id: 'vol-0worker', kind: 'volume', account: ACCOUNT, region: 'eu-west-1', name: 'data' },
      disks: [{ name: 'root', snapshotId: snapA, volumeId: 'vol-0worker' }], tags: { policy: 'daily' }, ...extra,
    };
  }

  async function run(doc: unknown, options: Partial<WorkerOptions> & { passphrase?: string } = {}) {
    sfn.calls.length = 0;
    const { logger, lines } = recorder();
    let shutdowns = 0;
    const result = await runWorker({
      env: { CLOUDKEEP_TASK: JSON.stringify(doc), CLOUDKEEP_PASSPHRASE: options.passphrase ?? PASS },
      sfn: sfn.client(), ebs: ebs.ebsClient(), ec2: ebs.ec2Client(), threads: 2, heartbeatMs: 60_000, logger,
      shutdown: async () => void shutdowns++,
      ...options,
    });
    const text = JSON.stringify(lines) + JSON.stringify(sfn.calls.map(({ taskToken: _, ...c }) => c));
    assert.ok(!text.includes(PASS), 'the passphrase leaked into logs or Step Functions');
    assert.ok(!JSON.stringify(lines).includes(TOKEN), 'the task token leaked into the logs');
    assert.equal(shutdowns, 1, 'the shutdown hook runs exactly once in every case');
    return { result, lines };
  }

  it('backs up a snapshot, heartbeats while slowed, and reports the point with SendTaskSuccess', async () => {
    const { result, lines } = await run(task(), { ebs: slowed(ebs.ebsClient(), 40), heartbeatMs: 30 });
    assert.equal(result.exitCode, EXIT.ok, JSON.stringify(result.failure));
    const [success] = sfn.of('SendTaskSuccess');
    assert.ok(success.taskToken.startsWith(TOKEN));
    const output = JSON.parse(success.output!);
    assert.equal(output.kind, 'backup');
    assert.deepEqual(await repo.listPointIds(), [output.pointId]);
    fullPoint = output.pointId;
    assert.equal(output.stats.kind, 'full');
    assert.equal(output.stats.blocksRead, A_BLOCKS.length);
    assert.ok(output.stats.bytesRead > 0 && output.stats.stages && typeof output.stats.bottleneck === 'string');
    assert.ok(sfn.of('SendTaskHeartbeat').length >= 2, `heartbeats: ${sfn.of('SendTaskHeartbeat').length}`);
    assert.ok(sfn.calls.at(-1)!.op === 'SendTaskSuccess', 'no heartbeat after the result');
    const m = await repo.readManifest(fullPoint);
    assert.deepEqual(m.resource, { id: 'vol-0worker', kind: 'volume', account: ACCOUNT, region: 'eu-west-1', name: 'data', provider: 'aws' });
    assert.deepEqual(m.tags, { policy: 'daily' });
    const done = lines.find((l) => l.message === 'task succeeded')!;
    assert.equal(done.account, ACCOUNT);
    assert.equal(done.resource, 'vol-0worker');
    assert.match(String(done.task), /^[0-9a-f]{16}$/);
  });

  it('an incremental task reads only the changed blocks', async () => {
    const before = ebs.getBlockCallsBySnapshot.get(snapB) ?? 0;
    const doc = task({ parentPointId: fullPoint, disks: [{ name: 'root', snapshotId: snapB, volumeId: 'vol-0worker', baseSnapshotId: snapA }] });
    const { result } = await run(doc);
    assert.equal(result.exitCode, EXIT.ok, JSON.stringify(result.failure));
    const output = JSON.parse(sfn.of('SendTaskSuccess')[0].output!);
    assert.equal(output.stats.kind, 'incremental');
    assert.equal((ebs.getBlockCallsBySnapshot.get(snapB) ?? 0) - before, 3, 'GetSnapshotBlock only for the 3 changed blocks with data');
    incrementalPoint = output.pointId;
    assert.equal((await repo.readManifest(incrementalPoint)).parent, fullPoint);
  });

  it('a restore task creates a new snapshot equal to the source and reports its id', async () => {
    const doc = task({ kind: 'restore', disks: [], restore: { pointId: incrementalPoint, disk: 'root', targetVolumeSizeGiB: 1, tags: { restoredFrom: incrementalPoint } } });
    const { result } = await run(doc);
    assert.equal(result.exitCode, EXIT.ok, JSON.stringify(result.failure));
    const output = JSON.parse(sfn.of('SendTaskSuccess')[0].output!);
    assert.equal(output.kind, 'restore');
    assert.equal(output.pointId, incrementalPoint);
    const restored = ebs.snapshots.get(output.snapshotId)!;
    assert.equal(restored.status, 'completed');
    assert.deepEqual(restored.tags, { restoredFrom: incrementalPoint });
    const src = ebs.snapshots.get(snapB)!.blocks;
    for (const i of new Set([...src.keys(), ...restored.blocks.keys()])) {
      assert.ok((src.get(i) ?? ZERO).equals(restored.blocks.get(i) ?? ZERO), `block ${i} differs`);
    }
    assert.equal(output.stats.blocksWritten, restored.blocks.size);
  });

  it('an unknown snapshot fails with SendTaskFailure and a clear cause', async () => {
    const { result } = await run(task({ disks: [{ name: 'root', snapshotId: 'snap-0000000000000dead', volumeId: 'vol-0worker' }] }));
    assert.equal(result.exitCode, EXIT.failed);
    const [failure] = sfn.of('SendTaskFailure');
    assert.ok(failure.taskToken!.startsWith(TOKEN));
    assert.match(failure.cause!, /snap-0000000000000dead/);
    assert.equal(sfn.of('SendTaskSuccess').length, 0);
  });

  it('a wrong key fails with WrongKeyError, and no secret in the cause', async () => {
    const wrong = 'not-the-passphrase-4242';
    const { result } = await run(task(), { passphrase: wrong });
    assert.equal(result.exitCode, EXIT.failed);
    const [failure] = sfn.of('SendTaskFailure');
    assert.equal(failure.error, 'WrongKeyError');
    assert.ok(failure.cause && failure.cause.length > 10);
    assert.ok(!failure.cause.includes(wrong) && !failure.cause.includes(TOKEN));
  });

  it('an invalid task document is reported as InvalidTask and exits 2', async () => {
    const { result } = await run({ ...task(), disks: [], extra: 1 });
    assert.equal(result.exitCode, EXIT.invalidTask);
    const [failure] = sfn.of('SendTaskFailure');
    assert.equal(failure.error, 'InvalidTask');
    assert.match(failure.cause!, /disks/);
    assert.match(failure.cause!, /extra/);
  });

  it('TaskTimedOut from SendTaskHeartbeat aborts the work and exits non-zero', async () => {
    const points = await repo.listPointIds();
    sfn.timeOutAfterHeartbeats = 1;
    try {
      const started = Date.now();
      const { result, lines } = await run(task({ disks: [{ name: 'root', snapshotId: snapB, volumeId: 'vol-0worker' }] }), { ebs: slowed(ebs.ebsClient(), 300), heartbeatMs: 50 });
      assert.equal(result.exitCode, EXIT.abandoned);
      assert.ok(Date.now() - started < 5000, 'the work stopped early');
      assert.equal(sfn.of('SendTaskSuccess').length + sfn.of('SendTaskFailure').length, 0);
      assert.ok(lines.some((l) => l.level === 'ERROR' && /gave up/.test(String(l.message))));
      assert.deepEqual(await repo.listPointIds(), points, 'no restore point was written');
    } finally {
      sfn.timeOutAfterHeartbeats = null;
    }
  });

  it('describeFailure redacts secrets and keeps to the Step Functions limits', () => {
    const f = describeFailure(new Error(`token ${TOKEN} and ${PASS} ${'x'.repeat(40_000)}`), [TOKEN, PASS]);
    assert.ok(!f.cause.includes(TOKEN) && !f.cause.includes(PASS));
    assert.ok(f.cause.length <= 32_768);
    assert.equal(f.error, 'Error');
  });
});
