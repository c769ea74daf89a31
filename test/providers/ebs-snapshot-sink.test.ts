// EbsSnapshotSink against the EBS wire test server: block assembly from pieces, zero blocks, idempotent start, cleanup.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CloudkeepError } from '../../core/errors.ts';
import { EbsReadQuota } from '../../providers/aws/ebs-read-quota.ts';
import { EbsSnapshotSink } from '../../providers/aws/ebs-snapshot-sink.ts';
import { BLOCK, EbsTestServer } from '../support/ebs-test-server.ts';
import { prng } from '../support/images.ts';

const GiB = 1024 ** 3;

describe('EbsSnapshotSink', () => {
  let server: EbsTestServer;
  before(async () => {
    server = await EbsTestServer.start();
  });
  after(() => server.close());
  const sinkFor = (extra: Partial<ConstructorParameters<typeof EbsSnapshotSink>[0]> = {}) =>
    new EbsSnapshotSink({ ebs: server.ebsClient(), ec2: server.ec2Client(), volumeSize: GiB + 1, retry: new EbsReadQuota({ sleep: async () => {} }), ...extra });

  it('sends a block once all its pieces arrived, the rest at finish with zero gaps, never all-zero blocks', async () => {
    const sink = sinkFor({ description: 'pieces' });
    const data = prng('pieces', 3 * BLOCK);
    const puts = () => server.calls.filter((c) => c === 'PutSnapshotBlock').length;
    const before = puts();
    // Block 0 in three pieces out of order, one overlapping; block 1 whole; block 2 only partly; block 3 zeros.
    await sink.write(100_000, data.subarray(100_000, 300_000));
    await sink.write(0, data.subarray(0, 150_000));
    assert.equal(puts() - before, 0, 'block 0 is not complete yet');
    await sink.write(250_000, data.subarray(250_000, BLOCK));
    assert.equal(puts() - before, 1, 'block 0 went out when complete');
    await sink.write(BLOCK, data.subarray(BLOCK, 2 * BLOCK));
    await sink.write(2 * BLOCK + 4096, data.subarray(2 * BLOCK + 4096, 2 * BLOCK + 8192));
    await sink.write(3 * BLOCK, Buffer.alloc(BLOCK));
    await sink.write(4 * BLOCK + 10, Buffer.alloc(50));
    assert.equal(puts() - before, 2);
    await sink.finish(GiB + 1);
    const snap = server.snapshots.get(sink.snapshotId!)!;
    assert.equal(snap.sizeGiB, 2, 'rounded up to whole GiB');
    assert.equal(snap.status, 'completed', 'ChangedBlocksCount matched');
    assert.deepEqual([...snap.blocks.keys()].sort(), [0, 1, 2]);
    assert.ok(snap.blocks.get(0)!.equals(data.subarray(0, BLOCK)));
    assert.ok(snap.blocks.get(1)!.equals(data.subarray(BLOCK, 2 * BLOCK)));
    const two = Buffer.alloc(BLOCK);
    data.copy(two, 4096, 2 * BLOCK + 4096, 2 * BLOCK + 8192);
    assert.ok(snap.blocks.get(2)!.equals(two));
    assert.equal(sink.blocksWritten, 3);
    await assert.rejects(sink.write(0, data.subarray(0, 10)), /already completed/);
  });

  it('starts one snapshot per client token', async () => {
    const first = sinkFor({ clientToken: 'restore-42' });
    const second = sinkFor({ clientToken: 'restore-42' });
    assert.equal(await first.start(), await second.start());
  });

  it('rejects writes outside the volume', async () => {
    await assert.rejects(sinkFor({ volumeSize: GiB }).write(GiB - 10, Buffer.alloc(20)), /outside the 1 GiB snapshot/);
  });

  it('after a failed write, later writes fail and cleanup deletes the snapshot', async () => {
    const sink = sinkFor();
    await sink.write(0, prng('ok', BLOCK));
    const id = sink.snapshotId!;
    server.denyAccess = true;
    try {
      await assert.rejects(sink.write(BLOCK, prng('denied', BLOCK)), (e: unknown) => e instanceof CloudkeepError && !e.retryable && /access denied/.test(e.message));
    } finally {
      server.denyAccess = false;
    }
    await assert.rejects(sink.write(2 * BLOCK, prng('later', BLOCK)), /access denied/);
    await assert.rejects(sink.finish(GiB), /access denied/);
    assert.ok(server.snapshots.has(id));
    await sink.cleanup();
    assert.ok(!server.snapshots.has(id), 'DeleteSnapshot removed it');
    assert.equal(sink.snapshotId, null);
  });

  it('abort() stops further writes', async () => {
    const sink = sinkFor();
    await sink.start();
    sink.abort();
    await assert.rejects(sink.write(0, prng('x', BLOCK)), /aborted/);
    await sink.cleanup();
  });
});
