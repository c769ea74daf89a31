// End to end over the EBS wire test server: full backup of snapshot A, incremental of its child B, restore B into a new snapshot.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { backupResource } from '../../core/engine/backup.ts';
import { restoreDisk } from '../../core/engine/restore.ts';
import { DEFAULT_PARAMS } from '../../core/repo/config.ts';
import { EbsReadQuota } from '../../providers/aws/ebs-read-quota.ts';
import { EbsSnapshotSink } from '../../providers/aws/ebs-snapshot-sink.ts';
import { EbsSnapshotSource } from '../../providers/aws/ebs-snapshot-source.ts';
import { BLOCK, EbsTestServer } from '../support/ebs-test-server.ts';
import { mixedImage, prng } from '../support/images.ts';
import { makeRepo } from '../support/repo-fixture.ts';

const resource = { id: 'vol-0round', kind: 'volume' as const, provider: 'aws' };
const ZERO = Buffer.alloc(BLOCK);

/** Scattered allocated blocks of a 1 GiB volume: runs (to exercise 4-block reads), singles, and far-away blocks. */
const A_BLOCKS = [0, 1, 2, 3, 4, 5, 9, 100, 101, 1023, 1024, 1500, 2047];

function blocksEqual(server: EbsTestServer, x: string, y: string): string[] {
  const a = server.snapshots.get(x)!.blocks;
  const b = server.snapshots.get(y)!.blocks;
  const bad: string[] = [];
  for (const i of new Set([...a.keys(), ...b.keys()])) if (!(a.get(i) ?? ZERO).equals(b.get(i) ?? ZERO)) bad.push(String(i));
  return bad;
}

describe('EBS round trip through the engine', () => {
  let server: EbsTestServer;
  before(async () => {
    server = await EbsTestServer.start();
  });
  after(() => server.close());

  it('backs up A, reads only changed blocks of B, and restores B into an identical new snapshot', async () => {
    const image = mixedImage('ebs-a', A_BLOCKS.length * BLOCK);
    const aBlocks = new Map<number, Buffer>(A_BLOCKS.map((b, i) => [b, Buffer.from(image.subarray(i * BLOCK, (i + 1) * BLOCK))]));
    aBlocks.set(9, ZERO); // allocated but all zeros
    const half = Buffer.alloc(BLOCK);
    prng('half', BLOCK / 2).copy(half, BLOCK / 4);
    aBlocks.set(1500, half); // zeros around data: restore writes it in pieces
    const a = server.addSnapshot({ volumeId: 'vol-0round', sizeGiB: 1, blocks: aBlocks });
    const bChanges = new Map<number, Buffer | null>([
      [2, prng('b2', BLOCK)],
      [3, Buffer.from(aBlocks.get(1)!)], // now a copy of block 1: deduplicated
      [100, null], // removed: reads as zeros
      [700, prng('b700', BLOCK)], // new
      [2047, Buffer.concat([prng('b2047', 4096), aBlocks.get(2047)!.subarray(4096)])],
    ]);
    const b = server.addSnapshot({ parent: a, blocks: bChanges });

    const ctx = await makeRepo({ params: { ...DEFAULT_PARAMS, packTargetSize: 1024 * 1024 } });
    const quota = new EbsReadQuota();
    const source = new EbsSnapshotSource({ ebs: server.ebsClient(), ec2: server.ec2Client(), quota });
    const refA = { snapshotId: a, volumeId: 'vol-0round' };
    const refB = { snapshotId: b, volumeId: 'vol-0round' };

    const m1 = await backupResource({ repo: ctx.repo, index: await ctx.repo.loadIndex(), source, processor: ctx.processor }, { resource, disks: [{ name: 'root', snapshot: refA }] });
    assert.equal(m1.kind, 'full');
    assert.equal(m1.disks[0].size, 1024 ** 3);
    assert.equal(server.getBlockCallsBySnapshot.get(a), A_BLOCKS.length);

    const m2 = await backupResource(
      { repo: ctx.repo, index: await ctx.repo.loadIndex(), source, processor: ctx.processor },
      { resource, parent: m1, disks: [{ name: 'root', snapshot: refB, baseSnapshot: refA }] },
    );
    assert.equal(m2.kind, 'incremental');
    const bCalls = server.getBlockCallsBySnapshot.get(b);
    assert.equal(bCalls, 4, 'GetSnapshotBlock only for the 4 changed blocks with data (the removed one reads as zeros)');
    assert.equal(m2.stats.blocksRead, 5);
    assert.ok(m2.stats.chunksReused > 0, 'the copied block is deduplicated');

    const sink = new EbsSnapshotSink({ ebs: server.ebsClient(), ec2: server.ec2Client(), volumeSize: m2.disks[0].size, description: `restore of ${m2.id}`, tags: { cloudkeep: m2.id } });
    await restoreDisk({ repo: ctx.repo, index: await ctx.repo.loadIndex(), processor: ctx.processor }, m2, 'root', sink);
    const restored = server.snapshots.get(sink.snapshotId!)!;
    assert.equal(restored.status, 'completed');
    assert.equal(restored.sizeGiB, 1);
    assert.deepEqual(restored.tags, { cloudkeep: m2.id });
    assert.deepEqual(blocksEqual(server, b, restored.id), [], 'restored blocks differ from B');
    const expected = [...server.snapshots.get(b)!.blocks].filter(([, d]) => !d.equals(ZERO)).map(([i]) => i).sort((x, y) => x - y);
    assert.deepEqual([...restored.blocks.keys()].sort((x, y) => x - y), expected, 'all-zero blocks are not sent');
    assert.equal(sink.blocksWritten, expected.length);

    // The full point still restores A exactly, and reads of the restored snapshot come back through the source.
    const sinkA = new EbsSnapshotSink({ ebs: server.ebsClient(), ec2: server.ec2Client(), volumeSize: m1.disks[0].size });
    await restoreDisk({ repo: ctx.repo, index: await ctx.repo.loadIndex(), processor: ctx.processor }, m1, 'root', sinkA);
    assert.deepEqual(blocksEqual(server, a, sinkA.snapshotId!), []);
    const back = new Uint8Array(BLOCK);
    await source.readBlocks({ snapshotId: sinkA.snapshotId!, volumeId: '' }, 1500, 1, back);
    assert.ok(Buffer.from(back).equals(half));
  });
});
