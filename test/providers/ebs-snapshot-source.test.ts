// EbsSnapshotSource against the EBS wire test server: listing, changed blocks, verified reads, throttling, errors.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CloudkeepError } from '../../core/errors.ts';
import { EbsError } from '../../providers/aws/ebs-errors.ts';
import { EbsReadQuota } from '../../providers/aws/ebs-read-quota.ts';
import { EbsSnapshotSource } from '../../providers/aws/ebs-snapshot-source.ts';
import { BLOCK, EbsTestServer } from '../support/ebs-test-server.ts';
import { prng } from '../support/images.ts';

const ref = (snapshotId: string) => ({ snapshotId, volumeId: '' });
const fastQuota = () => new EbsReadQuota({ sleep: async () => {}, random: () => 0.5 });

describe('EbsSnapshotSource', () => {
  let server: EbsTestServer;
  let source: EbsSnapshotSource;
  before(async () => {
    server = await EbsTestServer.start();
  });
  after(() => server.close());
  const newSource = (quota = fastQuota()) => (source = new EbsSnapshotSource({ ebs: server.ebsClient(), ec2: server.ec2Client(), quota }));

  it('describes a snapshot through EC2 DescribeSnapshots', async () => {
    const id = server.addSnapshot({ volumeId: 'vol-0abc', sizeGiB: 8 });
    const info = await newSource().describe(ref(id));
    assert.deepEqual(info, { snapshotId: id, volumeId: 'vol-0abc', size: 8 * 1024 ** 3, blockSize: BLOCK, createdAt: server.snapshots.get(id)!.startTime.getTime() });
    await assert.rejects(source.describe(ref('snap-0missing')), (e: unknown) => e instanceof EbsError && e.code === 'InvalidSnapshot.NotFound' && !e.retryable);
  });

  it('lists 25,000 allocated blocks over 3 pages and reads listed and unlisted blocks', async () => {
    const shared = prng('shared', BLOCK);
    const blocks = new Map<number, Buffer>();
    for (let i = 0; i < 25_000; i++) blocks.set(i * 2, shared);
    const id = server.addSnapshot({ sizeGiB: 25, blocks });
    const before = server.calls.filter((c) => c === 'ListSnapshotBlocks').length;
    const list = await newSource().listAllocatedBlocks(ref(id));
    assert.equal(server.calls.filter((c) => c === 'ListSnapshotBlocks').length - before, 3);
    assert.equal(list.blocks.length, 25_000);
    assert.equal(list.blockSize, BLOCK);
    assert.deepEqual(list.blocks.slice(0, 3), [0, 2, 4]);
    assert.equal(list.blocks.at(-1), 49_998);
    const target = new Uint8Array(2 * BLOCK);
    const calls = server.getBlockCalls;
    await source.readBlocks(ref(id), 49_998, 2, target);
    assert.equal(server.getBlockCalls - calls, 1, 'the unallocated block is not fetched');
    assert.ok(Buffer.from(target.subarray(0, BLOCK)).equals(shared));
    assert.ok(target.subarray(BLOCK).every((b) => b === 0));
  });

  it('lists changed blocks within a lineage; a block removed in the new snapshot reads as zeros', async () => {
    const a = server.addSnapshot({ blocks: new Map([[1, prng('a1', BLOCK)], [2, prng('a2', BLOCK)], [7, prng('a7', BLOCK)]]) });
    const b = server.addSnapshot({ parent: a, blocks: new Map([[2, prng('b2', BLOCK)], [7, null], [9, prng('b9', BLOCK)]]) });
    const list = await newSource().listChangedBlocks(ref(a), ref(b));
    assert.deepEqual(list, { blockSize: BLOCK, blocks: [2, 7, 9] });
    const calls = server.getBlockCalls;
    const target = new Uint8Array(3 * BLOCK).fill(0xee);
    await source.readBlocks(ref(b), 7, 3, target);
    assert.equal(server.getBlockCalls - calls, 1, 'only block 9 has data');
    assert.ok(target.subarray(0, 2 * BLOCK).every((x) => x === 0), 'removed block 7 and unlisted block 8 read as zeros');
    assert.ok(Buffer.from(target.subarray(2 * BLOCK)).equals(prng('b9', BLOCK)));
    const two = new Uint8Array(BLOCK);
    await source.readBlocks(ref(b), 2, 1, two);
    assert.ok(Buffer.from(two).equals(prng('b2', BLOCK)));
  });

  it('returns null for unrelated snapshots and for a base that no longer exists', async () => {
    const x = server.addSnapshot({ blocks: new Map([[0, prng('x', BLOCK)]]) });
    const y = server.addSnapshot({ blocks: new Map([[0, prng('y', BLOCK)]]) });
    assert.equal(await newSource().listChangedBlocks(ref(x), ref(y)), null);
    assert.equal(await source.listChangedBlocks(ref('snap-0gone'), ref(y)), null);
  });

  it('detects a checksum mismatch: one bad answer is read again, two fail naming snapshot and block', async () => {
    const id = server.addSnapshot({ blocks: new Map([[4, prng('c4', BLOCK)]]) });
    await newSource().listAllocatedBlocks(ref(id));
    const target = new Uint8Array(BLOCK);
    server.corruptNext = 1;
    let calls = server.getBlockCalls;
    await source.readBlocks(ref(id), 4, 1, target);
    assert.equal(server.getBlockCalls - calls, 2);
    assert.ok(Buffer.from(target).equals(prng('c4', BLOCK)));
    server.corruptNext = 2;
    calls = server.getBlockCalls;
    await assert.rejects(source.readBlocks(ref(id), 4, 1, target), (e: unknown) => {
      assert.ok(e instanceof CloudkeepError && !e.retryable);
      assert.match(e.message, new RegExp(`snapshot ${id} block 4: SHA256 checksum mismatch`));
      return true;
    });
    assert.equal(server.getBlockCalls - calls, 2);
  });

  it('backs off on throttling and succeeds, counting the time in throttledMs', async () => {
    const blocks = new Map([0, 1, 2, 3].map((i) => [i, prng(`t${i}`, BLOCK)] as [number, Buffer]));
    const id = server.addSnapshot({ blocks });
    for (const type of ['ThrottlingException', 'RequestThrottledException']) {
      const quota = fastQuota();
      await newSource(quota).listAllocatedBlocks(ref(id));
      server.throttleType = type;
      server.throttleNext = 3;
      const target = new Uint8Array(4 * BLOCK);
      await source.readBlocks(ref(id), 0, 4, target);
      for (const [i, b] of blocks) assert.ok(Buffer.from(target.subarray(i * BLOCK, (i + 1) * BLOCK)).equals(b));
      assert.equal(quota.throttles, 3);
      assert.ok(source.throttledMs > 0, 'throttledMs stays 0');
      assert.equal(source.throttledMs, quota.throttledMs);
      assert.equal(source.blockRequests, 7);
    }
  });

  it('lists the range again when block tokens have expired', async () => {
    const id = server.addSnapshot({ blocks: new Map([[10, prng('e10', BLOCK)], [11, prng('e11', BLOCK)]]) });
    await newSource().listAllocatedBlocks(ref(id));
    server.expireTokens();
    const lists = server.calls.filter((c) => c === 'ListSnapshotBlocks').length;
    const target = new Uint8Array(2 * BLOCK);
    await source.readBlocks(ref(id), 10, 2, target);
    assert.ok(Buffer.from(target).equals(Buffer.concat([prng('e10', BLOCK), prng('e11', BLOCK)])));
    assert.equal(server.calls.filter((c) => c === 'ListSnapshotBlocks').length - lists, 1, 'one re-list for the run');
  });

  it('reads blocks of a snapshot never listed by listing their range first', async () => {
    const id = server.addSnapshot({ blocks: new Map([[3, prng('n3', BLOCK)]]) });
    const target = new Uint8Array(2 * BLOCK).fill(1);
    await newSource().readBlocks(ref(id), 2, 2, target);
    assert.ok(target.subarray(0, BLOCK).every((x) => x === 0));
    assert.ok(Buffer.from(target.subarray(BLOCK)).equals(prng('n3', BLOCK)));
  });

  it('translates access denied into a clear, non-retryable error', async () => {
    const id = server.addSnapshot({});
    server.denyAccess = true;
    try {
      await assert.rejects(newSource().listAllocatedBlocks(ref(id)), (e: unknown) => e instanceof EbsError && !e.retryable && /access denied.*ebs:ListSnapshotBlocks/.test(e.message));
      await assert.rejects(source.describe(ref(id)), (e: unknown) => e instanceof EbsError && !e.retryable && e.code === 'UnauthorizedOperation');
    } finally {
      server.denyAccess = false;
    }
  });
});
