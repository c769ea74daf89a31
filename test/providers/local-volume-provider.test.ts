// Tests for LocalVolumeProvider: point-in-time snapshots, change tracking, the SnapshotSource port.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, open, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { InvalidArgumentError } from '../../core/errors.ts';
import { ManualClock } from '../../core/clock.ts';
import { LocalVolumeProvider } from '../../providers/local/local-volume-provider.ts';
import { generateImage, mutateImage } from '../../providers/local/image-generator.ts';

const BS = 512 * 1024;

async function withProvider(fn: (p: LocalVolumeProvider, dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'ck-local-'));
  try {
    await fn(new LocalVolumeProvider({ root: join(dir, 'root'), clock: new ManualClock() }), dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const fill = (length: number, byte: number): Buffer => Buffer.alloc(length, byte);
const ref = (volumeId: string, snapshotId: string) => ({ volumeId, snapshotId });

async function readBlock(p: LocalVolumeProvider, volumeId: string, snapshotId: string, block: number): Promise<Buffer> {
  const target = Buffer.alloc(BS);
  await p.readBlocks(ref(volumeId, snapshotId), block, 1, target);
  return target;
}

test('a snapshot is point-in-time: later writes do not change it', () =>
  withProvider(async (p) => {
    await p.createVolume('vol', 8 * BS);
    await p.writeVolume('vol', BS, fill(BS, 1));
    const s1 = await p.createSnapshot('vol');
    await p.writeVolume('vol', BS, fill(BS, 2));
    assert.deepEqual(await readBlock(p, 'vol', s1.snapshotId, 1), fill(BS, 1));
    assert.deepEqual(await p.readVolume('vol', BS, BS), fill(BS, 2));
    const info = await p.describe(ref('vol', s1.snapshotId));
    assert.deepEqual(info, { snapshotId: s1.snapshotId, volumeId: 'vol', size: 8 * BS, blockSize: BS, createdAt: s1.createdAt });
  }));

test('changed blocks across three snapshots are exactly the blocks written', () =>
  withProvider(async (p) => {
    await p.createVolume('vol', 16 * BS);
    await p.createVolume('other', 16 * BS);
    await p.writeVolume('vol', 0, fill(BS, 9));
    const s1 = await p.createSnapshot('vol');
    await p.writeVolume('vol', BS + 10, fill(5, 1));
    await p.writeVolume('vol', 5 * BS, fill(BS, 1));
    const s2 = await p.createSnapshot('vol');
    // Straddles the 2/3 boundary, plus one rewrite of an already-changed block.
    await p.writeVolume('vol', 3 * BS - 100, fill(200, 3));
    await p.writeVolume('vol', 5 * BS + 7, fill(1, 3));
    await p.writeVolume('vol', 15 * BS, fill(BS, 3));
    const s3 = await p.createSnapshot('vol');
    const o1 = await p.createSnapshot('other');

    const changed = (a: string, b: string) => p.listChangedBlocks(ref('vol', a), ref('vol', b));
    assert.deepEqual(await changed(s1.snapshotId, s2.snapshotId), { blockSize: BS, blocks: [1, 5] });
    assert.deepEqual(await changed(s2.snapshotId, s3.snapshotId), { blockSize: BS, blocks: [2, 3, 5, 15] });
    assert.deepEqual(await changed(s1.snapshotId, s3.snapshotId), { blockSize: BS, blocks: [1, 2, 3, 5, 15] });
    assert.deepEqual(await changed(s3.snapshotId, s3.snapshotId), { blockSize: BS, blocks: [] });
    // Base newer than the snapshot, or of another volume: cannot tell.
    assert.equal(await changed(s3.snapshotId, s1.snapshotId), null);
    assert.equal(await p.listChangedBlocks(ref('other', o1.snapshotId), ref('vol', s3.snapshotId)), null);
    assert.equal(await p.listChangedBlocks(ref('vol', 'snap-gone'), ref('vol', s3.snapshotId)), null);
    assert.deepEqual((await p.listSnapshots('vol')).map((s) => s.snapshotId), [s1.snapshotId, s2.snapshotId, s3.snapshotId]);
  }));

test('parallel tracked writes are all recorded', () =>
  withProvider(async (p) => {
    await p.createVolume('vol', 32 * BS);
    const base = await p.createSnapshot('vol');
    const blocks = [0, 3, 4, 9, 17, 31];
    await Promise.all(blocks.map((b) => p.writeVolume('vol', b * BS + 1, fill(10, b + 1))));
    const next = await p.createSnapshot('vol');
    assert.deepEqual((await p.listChangedBlocks(ref('vol', base.snapshotId), ref('vol', next.snapshotId)))?.blocks, blocks);
  }));

test('a write outside writeVolume makes the change set unknown until the next snapshot', () =>
  withProvider(async (p) => {
    await p.createVolume('vol', 8 * BS);
    const s1 = await p.createSnapshot('vol');
    await p.writeVolume('vol', 0, fill(100, 1));
    // File timestamps tick coarsely (a few ms); let the outside write land on a later tick.
    await sleep(30);
    const handle = await open(p.volumePath('vol'), 'r+');
    await handle.write(fill(10, 7), 0, 10, 4 * BS);
    await handle.close();
    await p.writeVolume('vol', 2 * BS, fill(100, 1));
    assert.equal((await p.describeVolume('vol')).dirtyBlocks, null);
    const s2 = await p.createSnapshot('vol');
    assert.equal(s2.changedSinceParent, null);
    assert.equal(await p.listChangedBlocks(ref('vol', s1.snapshotId), ref('vol', s2.snapshotId)), null);
    // Tracking resumes from s2.
    await p.writeVolume('vol', 6 * BS, fill(1, 1));
    const s3 = await p.createSnapshot('vol');
    assert.deepEqual((await p.listChangedBlocks(ref('vol', s2.snapshotId), ref('vol', s3.snapshotId)))?.blocks, [6]);
    assert.equal(await p.listChangedBlocks(ref('vol', s1.snapshotId), ref('vol', s3.snapshotId)), null);
  }));

test('deleting snapshots keeps listChangedBlocks right', () =>
  withProvider(async (p) => {
    await p.createVolume('vol', 8 * BS);
    const s1 = await p.createSnapshot('vol');
    await p.writeVolume('vol', 1 * BS, fill(1, 1));
    const s2 = await p.createSnapshot('vol');
    await p.writeVolume('vol', 2 * BS, fill(1, 1));
    const s3 = await p.createSnapshot('vol');
    await p.writeVolume('vol', 3 * BS, fill(1, 1));

    await p.deleteSnapshot(s2.snapshotId);
    assert.deepEqual((await p.listChangedBlocks(ref('vol', s1.snapshotId), ref('vol', s3.snapshotId)))?.blocks, [1, 2]);
    const list = await p.listSnapshots('vol');
    assert.deepEqual(list.map((s) => [s.snapshotId, s.parentSnapshotId]), [[s1.snapshotId, null], [s3.snapshotId, s1.snapshotId]]);
    await assert.rejects(p.describe(ref('vol', s2.snapshotId)), InvalidArgumentError);

    // Deleting the newest one folds its changes (now [1, 2] after the merge above) into the volume's pending set.
    await p.deleteSnapshot(s3.snapshotId);
    assert.deepEqual((await p.describeVolume('vol')).dirtyBlocks, [1, 2, 3]);
    const s4 = await p.createSnapshot('vol');
    assert.equal(s4.parentSnapshotId, s1.snapshotId);
    assert.deepEqual((await p.listChangedBlocks(ref('vol', s1.snapshotId), ref('vol', s4.snapshotId)))?.blocks, [1, 2, 3]);

    await p.deleteSnapshot(s1.snapshotId);
    assert.equal((await p.listSnapshots('vol'))[0].parentSnapshotId, null);
    assert.equal(await p.listChangedBlocks(ref('vol', s1.snapshotId), ref('vol', s4.snapshotId)), null);
  }));

test('allocated blocks exclude all-zero blocks; the last block may be partial', () =>
  withProvider(async (p) => {
    const size = 10 * BS + 1000;
    await p.createVolume('vol', size);
    await p.writeVolume('vol', 0, fill(1, 1));
    await p.writeVolume('vol', 3 * BS + BS - 1, fill(1, 1));
    await p.writeVolume('vol', 5 * BS, fill(BS, 0));
    await p.writeVolume('vol', 10 * BS + 999, fill(1, 4));
    const s = await p.createSnapshot('vol');
    assert.deepEqual(await p.listAllocatedBlocks(ref('vol', s.snapshotId)), { blockSize: BS, blocks: [0, 3, 10] });
    // Zero writes are still changes: tracking cannot know they match.
    assert.deepEqual(s.changedSinceParent, [0, 3, 5, 10]);
    // The snapshot copy keeps holes.
    assert.ok((await stat(p.snapshotPath(s.snapshotId))).blocks * 512 < 4 * BS);
  }));

test('readBlocks zero-fills past the end and checks its range', () =>
  withProvider(async (p) => {
    const size = 2 * BS + 100;
    await p.createVolume('vol', size);
    await p.writeVolume('vol', 2 * BS, fill(100, 5));
    const s = await p.createSnapshot('vol');
    const target = Buffer.alloc(2 * BS, 0xaa);
    await p.readBlocks(ref('vol', s.snapshotId), 1, 2, target);
    assert.deepEqual(target.subarray(0, BS), fill(BS, 0));
    assert.deepEqual(target.subarray(BS, BS + 100), fill(100, 5));
    assert.deepEqual(target.subarray(BS + 100), fill(BS - 100, 0));
    await assert.rejects(p.readBlocks(ref('vol', s.snapshotId), 2, 2, target), InvalidArgumentError);
    await assert.rejects(p.readBlocks(ref('vol', s.snapshotId), 0, 1, target), /expected 524288 bytes/);
  }));

test('bad or unknown ids are InvalidArgumentError naming the id', () =>
  withProvider(async (p) => {
    await assert.rejects(p.createVolume('../escape', BS), (err: Error) => err instanceof InvalidArgumentError && err.message.includes('"../escape"'));
    await assert.rejects(p.createVolume('', BS), InvalidArgumentError);
    await assert.rejects(p.createVolume('.hidden', BS), InvalidArgumentError);
    await assert.rejects(p.createVolume('ok', 0), /volume size 0/);
    await assert.rejects(p.writeVolume('nope', 0, fill(1, 1)), (err: Error) => err instanceof InvalidArgumentError && err.message.includes('"nope"'));
    await assert.rejects(p.createSnapshot('nope'), /unknown volume "nope"/);
    await assert.rejects(p.listSnapshots('nope'), InvalidArgumentError);
    await assert.rejects(p.deleteSnapshot('a/b'), InvalidArgumentError);
    await assert.rejects(p.deleteSnapshot('snap-missing'), /unknown snapshot "snap-missing"/);
    await p.createVolume('vol', BS);
    await assert.rejects(p.createVolume('vol', BS), /already exists/);
    await assert.rejects(p.writeVolume('vol', BS - 1, fill(2, 1)), /within the volume's 524288 bytes/);
    const s = await p.createSnapshot('vol');
    await assert.rejects(p.describe(ref('other', s.snapshotId)), /belongs to volume "vol"/);
    await assert.rejects(p.listChangedBlocks(ref('vol', s.snapshotId), ref('vol', 'x/y')), InvalidArgumentError);
    assert.throws(() => new LocalVolumeProvider({ root: '/tmp', blockSize: 1000 }), InvalidArgumentError);
  }));

test('importVolume copies an image sparsely; mutations through writeVolume are tracked exactly', () =>
  withProvider(async (p, dir) => {
    const image = join(dir, 'disk.img');
    const generated = await generateImage(image, { size: 24 * 1024 * 1024 + 512, seed: 'import' });
    const volume = await p.importVolume('vol', image);
    assert.equal(volume.size, generated.size);
    assert.equal(volume.dirtyBlocks, null);
    const s1 = await p.createSnapshot('vol');
    assert.equal(s1.changedSinceParent, null);
    const allocated = (await stat(p.snapshotPath(s1.snapshotId))).blocks * 512;
    assert.ok(allocated <= generated.size - generated.bytesByKind.zero + 4096, `snapshot allocates ${allocated} bytes`);

    const changed = await mutateImage(
      { size: volume.size, write: (o, d) => p.writeVolume('vol', o, d), read: (o, n) => p.readVolume('vol', o, n) },
      { seed: 1, blockFraction: 0.1 },
    );
    assert.equal(changed.length, Math.round(0.1 * Math.ceil(volume.size / BS)));
    const s2 = await p.createSnapshot('vol');
    assert.deepEqual((await p.listChangedBlocks(ref('vol', s1.snapshotId), ref('vol', s2.snapshotId)))?.blocks, changed);
    await assert.rejects(p.importVolume('vol2', join(dir, 'missing.img')), /does not exist/);
    await writeFile(join(dir, 'x'), 'x');
    await assert.rejects(p.importVolume('vol', join(dir, 'x')), /already exists/);
    assert.equal((await p.readVolume('vol', 0, 16)).length, 16);
  }));
