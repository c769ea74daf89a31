// Local workers are child processes: one backs up its task document and reports progress and its
// output over IPC; terminate() kills a running one.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { systemClock } from '../../core/clock.ts';
import type { Progress } from '../../core/engine/progress.ts';
import { Repository } from '../../core/repo/repository.ts';
import { FileObjectStore } from '../../providers/local/file-object-store.ts';
import { LocalVolumeProvider } from '../../providers/local/local-volume-provider.ts';
import { LocalWorkerLauncher } from '../../providers/local/local-worker-launcher.ts';
import type { WorkerTask } from '../../worker-image/task.ts';
import { passphrase, SMALL_PARAMS } from '../support/repo-fixture.ts';

const BLOCK = 64 * 1024;
const PASSPHRASE = 'child worker passphrase';
const ACCOUNT = '000000000000';

let dir: string;
let volumes: LocalVolumeProvider;
let repo: Repository;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cloudkeep-launcher-'));
  volumes = new LocalVolumeProvider({ root: join(dir, 'volumes'), blockSize: BLOCK });
  repo = await Repository.init(new FileObjectStore(join(dir, 'repo')), passphrase(PASSPHRASE), SMALL_PARAMS, systemClock);
});

after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function taskFor(volumeId: string, size: number): Promise<string> {
  await volumes.createVolume(volumeId, size);
  await volumes.writeVolume(volumeId, 0, randomBytes(size / 2));
  const snap = await volumes.createSnapshot(volumeId);
  const task: WorkerTask = {
    kind: 'backup', taskToken: `token-${volumeId}`, account: ACCOUNT, region: 'us-local-1',
    repository: pathToFileURL(join(dir, 'repo')).href, key: 'passphrase',
    resource: { id: volumeId, kind: 'volume', account: ACCOUNT, region: 'us-local-1' },
    disks: [{ name: volumeId, snapshotId: snap.snapshotId, volumeId }], tags: { 'cloudkeep:policy': 'p' },
  };
  return Buffer.from(JSON.stringify(task)).toString('base64');
}

const launch = (launcher: LocalWorkerLauncher, userData: string) =>
  launcher.launch({ region: 'us-local-1', instanceType: 'local', subnetId: 'local', spot: false, userData, tags: {}, clientToken: 'c' });

describe('LocalWorkerLauncher with child processes', () => {
  it('a child process backs up the task, reports progress, and its restore point carries the task account', async () => {
    const launcher = new LocalWorkerLauncher({ source: volumes, threads: 1, secrets: async () => ({ CLOUDKEEP_PASSPHRASE: PASSPHRASE }) });
    const { instanceId } = await launch(launcher, await taskFor('vol-child', 16 * BLOCK));
    const pid = launcher.pidOf(instanceId);
    assert.ok(pid && pid !== process.pid, 'the worker runs in a process of its own');
    const seen: Progress[] = [];
    const output = await launcher.wait(instanceId, (p) => seen.push(p));
    assert.equal(output.stats.kind, 'full');
    assert.equal(output.stats.bytesTotal, 16 * BLOCK);
    const last = seen.at(-1);
    assert.ok(last && last.bytesDone === last.bytesTotal && last.bytesDone >= 8 * BLOCK, `the final progress reached the end: ${JSON.stringify(last)}`);
    const manifest = await repo.readManifest(output.pointId);
    assert.deepEqual([manifest.resource.id, manifest.resource.account], ['vol-child', ACCOUNT]);
  });

  it('a child that cannot open the repository fails with its error', async () => {
    const launcher = new LocalWorkerLauncher({ source: volumes, threads: 1, secrets: async () => ({ CLOUDKEEP_PASSPHRASE: 'not the passphrase' }) });
    const { instanceId } = await launch(launcher, await taskFor('vol-wrong-key', 4 * BLOCK));
    await assert.rejects(launcher.wait(instanceId), /passphrase/i);
  });

  it('terminate() kills a running worker process, and its wait rejects', async () => {
    const launcher = new LocalWorkerLauncher({ source: volumes, threads: 1, secrets: async () => ({ CLOUDKEEP_PASSPHRASE: PASSPHRASE }) });
    const { instanceId } = await launch(launcher, await taskFor('vol-killed', 64 * BLOCK));
    const pid = launcher.pidOf(instanceId)!;
    const waiting = launcher.wait(instanceId);
    await launcher.terminate('us-local-1', instanceId);
    assert.throws(() => process.kill(pid, 0), { code: 'ESRCH' }, 'the worker process is gone');
    await assert.rejects(waiting, /killed by SIGTERM/);
  });
});
