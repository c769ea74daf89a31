// The embedded default runs the CDK-synthesized state machine with local adapters: discovery of local
// volumes, local snapshots, in-process workers, a file control store, local schedules and a file repository.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { applyLocalPolicy } from '../../cli/local-plane.ts';
import { demoPolicy, runLocal, LOCAL_ACCOUNT } from '../../cli/local-run.ts';
import { loadDefinition } from '../../cli/state-machine-definition.ts';
import { systemClock } from '../../core/clock.ts';
import { asAccountId, asRegionName, asSessionId, asVolumeId } from '../../core/control/control-ids.ts';
import { InlineBlockProcessor } from '../../core/engine/block-processor.ts';
import { restoreDisk } from '../../core/engine/restore.ts';
import { Repository } from '../../core/repo/repository.ts';
import { FileControlStore } from '../../providers/local/file-control-store.ts';
import { FileObjectStore } from '../../providers/local/file-object-store.ts';
import { FileVolumeSink } from '../../providers/local/file-volume-sink.ts';
import { LOCAL_REGION, LocalDiscovery } from '../../providers/local/local-discovery.ts';
import { LocalScheduler } from '../../providers/local/local-scheduler.ts';
import { LocalSnapshotter } from '../../providers/local/local-snapshotter.ts';
import { LocalVolumeProvider } from '../../providers/local/local-volume-provider.ts';
import { LocalWorkerLauncher } from '../../providers/local/local-worker-launcher.ts';
import { passphrase, SMALL_PARAMS } from '../support/repo-fixture.ts';

const BLOCK = 64 * 1024;
const SIZE = 16 * BLOCK;
const DAY = 86_400_000;

let dir: string;
let definition: Record<string, unknown>;
let volumes: LocalVolumeProvider;
let store: FileControlStore;
let repo: Repository;
let repoUrl: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cloudkeep-local-run-'));
  definition = (await loadDefinition()).definition;
  volumes = new LocalVolumeProvider({ root: join(dir, 'volumes'), blockSize: BLOCK });
  store = new FileControlStore(join(dir, 'control'));
  repoUrl = pathToFileURL(join(dir, 'repo')).href;
  repo = await Repository.init(new FileObjectStore(join(dir, 'repo')), passphrase(), SMALL_PARAMS, systemClock);
  for (const id of ['vol-a', 'vol-b']) {
    await volumes.createVolume(id, SIZE);
    await volumes.writeVolume(id, 0, randomBytes(SIZE / 2));
  }
  await applyLocalPolicy(store, new LocalScheduler(join(dir, 'schedules')), demoPolicy(repoUrl));
});

after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

function run(now = Date.now) {
  const launcher = new LocalWorkerLauncher({
    source: volumes,
    inProcess: {
      openRepository: async (url) => {
        assert.equal(url, repoUrl);
        return repo;
      },
    },
  });
  return runLocal({ store, discovery: new LocalDiscovery(volumes), snapshotter: new LocalSnapshotter(volumes), launcher, definition, policyId: 'local-demo', now });
}

/** Restores the point's disk into a file and compares it with the volume as it is now. */
async function assertRestoresExactly(pointId: string, volumeId: string): Promise<void> {
  const manifest = await repo.readManifest(pointId);
  const processor = new InlineBlockProcessor({ chunking: repo.params.chunking, compressionLevel: repo.params.compression.level, chunkIdKey: repo.master.chunkIdKey, treeIdKey: repo.master.treeIdKey });
  const target = join(dir, `restore-${pointId}.img`);
  const sink = new FileVolumeSink(target);
  await restoreDisk({ repo, index: await repo.loadIndexForRestore(), processor }, manifest, volumeId, sink).finally(() => sink.close());
  assert.ok((await readFile(target)).equals(await readFile(volumes.volumePath(volumeId))), `${pointId} restores ${volumeId} exactly`);
}

describe('local run of the backup state machine', () => {
  it('backs up two local volumes: session succeeded, two tasks, two full restore points that restore exactly', async () => {
    const result = await run();
    assert.equal(result.status, 'succeeded');
    assert.equal(result.session?.status, 'succeeded');
    assert.deepEqual(result.tasks.map((t) => [t.resourceId, t.status]), [['vol-a', 'succeeded'], ['vol-b', 'succeeded']]);
    assert.deepEqual(Object.keys(result.workers).sort(), ['vol-a', 'vol-b']);
    for (const [volumeId, out] of Object.entries(result.workers)) {
      assert.equal(out.stats.kind, 'full');
      await assertRestoresExactly(out.pointId, volumeId);
      const state = await store.getVolumeState(asAccountId(LOCAL_ACCOUNT), asRegionName(LOCAL_REGION), asVolumeId(volumeId));
      assert.equal(state?.lastRestorePointId, out.pointId);
    }
    assert.equal((await repo.listManifests()).length, 2);
  });

  it('records everything under the policy account: policy, schedules, session, tasks with sizes, restore points', async () => {
    const acc = asAccountId(LOCAL_ACCOUNT);
    assert.deepEqual((await store.listPolicies(acc)).map((p) => p.id), ['local-demo']);
    const schedules = await new LocalScheduler(join(dir, 'schedules')).list('cloudkeep');
    assert.deepEqual(schedules.map((s) => s.name), ['cloudkeep-local-demo-backup']);
    assert.equal(JSON.parse(schedules[0].input).account, LOCAL_ACCOUNT);
    const [session] = (await store.listSessions(acc, { limit: 1 })).sessions;
    assert.equal(session.status, 'succeeded');
    for (const task of await store.listTasks(acc, asSessionId(session.id))) {
      assert.equal(task.sizes.sourceBytes, SIZE);
      assert.ok((task.sizes.storedBytes ?? 0) > 0, `${task.resourceId} stored bytes`);
      assert.ok(task.bottleneck, `${task.resourceId} bottleneck`);
      assert.deepEqual(task.progress, { bytesDone: SIZE, bytesTotal: SIZE });
    }
    assert.deepEqual([...new Set((await repo.listManifests()).map((m) => m.resource.account))], [LOCAL_ACCOUNT]);
  });

  it('a later run after changing one volume is incremental and reads only the changed block', async () => {
    await volumes.writeVolume('vol-b', 3 * BLOCK + 100, randomBytes(500));
    // The policy backs up daily: two days on, both volumes are due again.
    const result = await run(() => Date.now() + 2 * DAY);
    assert.equal(result.status, 'succeeded');
    assert.deepEqual(result.tasks.map((t) => t.status), ['succeeded', 'succeeded']);
    const a = result.workers['vol-a'];
    const b = result.workers['vol-b'];
    assert.equal(a.stats.kind, 'incremental');
    assert.equal(b.stats.kind, 'incremental');
    assert.equal(a.stats.blocksRead, 0);
    assert.equal(b.stats.blocksRead, 1);
    assert.equal(b.stats.bytesRead, BLOCK);
    assert.equal((await repo.readManifest(b.pointId)).parent !== null, true);
    await assertRestoresExactly(a.pointId, 'vol-a');
    await assertRestoresExactly(b.pointId, 'vol-b');
  });
});
