// The worker bundle: esbuild output that runs without node_modules (self-test, then a real backup task in a child process).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { access, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { systemClock } from '../../core/clock.ts';
import { PassphraseKeyProvider } from '../../core/crypto/passphrase-key-provider.ts';
import { DEFAULT_PARAMS } from '../../core/repo/config.ts';
import { Repository } from '../../core/repo/repository.ts';
import { FileObjectStore } from '../../providers/local/file-object-store.ts';
import { buildWorker } from '../../worker-image/build.ts';
import { BLOCK, EbsTestServer, TEST_CREDENTIALS } from '../support/ebs-test-server.ts';
import { prng } from '../support/images.ts';
import { FAST_SCRYPT } from '../support/repo-fixture.ts';
import { SfnTestServer } from '../support/sfn-test-server.ts';

const run = promisify(execFile);

describe('worker bundle (esbuild)', () => {
  let tmp: string;
  let out: string;
  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'ck-bundle-'));
    out = join(tmp, 'bundle');
    await buildWorker(out);
  });
  after(() => rm(tmp, { recursive: true, force: true }));

  it('emits the entries, the native addon and the image files', async () => {
    for (const f of ['worker-main.js', 'block-worker.js', 'worker.js', 'bootstrap.sh', 'image-builder-component.yaml', 'node_modules/@napi-rs/blake-hash/index.js']) {
      await access(join(out, f));
    }
  });

  it('passes --self-test outside the project (no node_modules but its own)', async () => {
    const { stdout } = await run(process.execPath, [join(out, 'worker-main.js'), '--self-test'], { cwd: tmp, timeout: 60_000 });
    const r = JSON.parse(stdout.trim().split('\n').at(-1)!);
    assert.deepEqual(r.checks, { blake3: 'ok', zstd: 'ok', threads: 'ok' });
    assert.equal(r.ok, true);
  });

  it('runs a backup task from CLOUDKEEP_TASK against the test servers and exits 0', async () => {
    const ebs = await EbsTestServer.start();
    const sfn = await SfnTestServer.start();
    try {
      const repoDir = join(tmp, 'repo');
      const pass = 'bundle-test-passphrase';
      const repo = await Repository.init(new FileObjectStore(repoDir), new PassphraseKeyProvider(pass, FAST_SCRYPT), DEFAULT_PARAMS, systemClock);
      const snap = ebs.addSnapshot({ volumeId: 'vol-0bundle', sizeGiB: 1, blocks: new Map([[0, prng('b0', BLOCK)], [5, prng('b5', BLOCK)]]) });
      const task = {
        kind: 'backup', taskToken: 'bundle-token-1', account: '111122223333', region: 'eu-west-1', repository: `file://${repoDir}`, key: 'passphrase',
        resource: { id: 'vol-0bundle', kind: 'volume', account: '111122223333', region: 'eu-west-1' },
        disks: [{ name: 'root', snapshotId: snap, volumeId: 'vol-0bundle' }],
      };
      const env = {
        PATH: process.env.PATH, CLOUDKEEP_TASK: JSON.stringify(task), CLOUDKEEP_PASSPHRASE: pass,
        AWS_ENDPOINT_URL_EBS: ebs.endpoint, AWS_ENDPOINT_URL_EC2: ebs.endpoint, AWS_ENDPOINT_URL_SFN: sfn.endpoint,
        AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey, AWS_REGION: 'eu-west-1',
      };
      const { stdout } = await run(process.execPath, [join(out, 'worker-main.js')], { cwd: tmp, env, timeout: 60_000 });
      const [success] = sfn.of('SendTaskSuccess');
      assert.ok(success, `no SendTaskSuccess; logs:\n${stdout}`);
      const output = JSON.parse(success.output!);
      assert.deepEqual(await repo.listPointIds(), [output.pointId]);
      assert.equal(output.stats.blocksRead, 2);
      const logs = stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      const done = logs.find((l) => l.message === 'task succeeded')!;
      assert.equal(done.account, '111122223333');
      assert.equal(done.resource, 'vol-0bundle');
      assert.equal(done.service, 'cloudkeep-worker');
      assert.ok(!stdout.includes(pass) && !stdout.includes('bundle-token-1'), 'a secret leaked into the logs');
    } finally {
      await ebs.close();
      await sfn.close();
    }
  });
});
