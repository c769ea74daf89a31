// A multi-GiB sparse disk round trip without multi-GiB memory: a virtual source and a checking sink.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { backupResource } from '../../core/engine/backup.ts';
import { restoreDisk } from '../../core/engine/restore.ts';
import type { BlockList, SnapshotInfo, SnapshotRef, SnapshotSource, VolumeSink } from '../../core/snapshot/snapshot-source.ts';
import { prng } from '../support/images.ts';
import { makeRepo } from '../support/repo-fixture.ts';

const GiB = 1024 ** 3;
const BS = 64 * 1024;

/** A volume of `size` bytes that is zero except at a few offsets. */
class SparseSource implements SnapshotSource {
  readonly size: number;
  readonly extents: Array<[number, Buffer]>;
  reads = 0;
  constructor(size: number, extents: Array<[number, Buffer]>) {
    this.size = size;
    this.extents = extents;
  }
  async describe(ref: SnapshotRef): Promise<SnapshotInfo> {
    return { ...ref, size: this.size, blockSize: BS, createdAt: 0 };
  }
  async listAllocatedBlocks(): Promise<BlockList> {
    const blocks = new Set<number>();
    for (const [off, data] of this.extents) for (let b = Math.floor(off / BS); b * BS < off + data.length; b++) blocks.add(b);
    return { blockSize: BS, blocks: [...blocks].sort((a, b) => a - b) };
  }
  async listChangedBlocks(): Promise<BlockList | null> {
    return null;
  }
  async readBlocks(_ref: SnapshotRef, block: number, count: number, target: Uint8Array): Promise<void> {
    this.reads += count;
    target.fill(0, 0, count * BS);
    const start = block * BS;
    const end = start + count * BS;
    for (const [off, data] of this.extents) {
      const a = Math.max(off, start);
      const b = Math.min(off + data.length, end, this.size);
      if (a < b) target.set(data.subarray(a - off, b - off), a - start);
    }
  }
}

/** Checks every write against the expected extents and that holes are never written with data. */
class CheckingSink implements VolumeSink {
  readonly source: SparseSource;
  bytes = 0;
  finalSize = -1;
  constructor(source: SparseSource) {
    this.source = source;
  }
  async write(offset: number, data: Uint8Array): Promise<void> {
    const expected = Buffer.alloc(data.length);
    for (const [off, ext] of this.source.extents) {
      const a = Math.max(off, offset);
      const b = Math.min(off + ext.length, offset + data.length);
      if (a < b) ext.copy(expected, a - offset, a - off, b - off);
    }
    assert.ok(Buffer.from(data).equals(expected), `wrong bytes written at ${offset}`);
    this.bytes += data.length;
  }
  async finish(size: number): Promise<void> {
    this.finalSize = size;
  }
}

describe('multi-GiB sparse disks', () => {
  it('backs up and restores an 8 GiB + 123 byte sparse disk, reading only allocated blocks', async () => {
    const size = 8 * GiB + 123;
    const source = new SparseSource(size, [
      [0, prng('a', 100_000)],
      [3 * GiB + 4096, prng('b', 300_000)],
      [5 * GiB - 10, prng('c', 20)],
      [size - 50, prng('d', 50)],
    ]);
    const ctx = await makeRepo();
    const m = await backupResource(
      { repo: ctx.repo, index: await ctx.repo.loadIndex(), source, processor: ctx.processor },
      { resource: { id: 'big', kind: 'volume', provider: 'test' }, disks: [{ name: 'root', snapshot: { snapshotId: 's', volumeId: 'big' } }] },
    );
    assert.equal(m.disks[0].size, size);
    assert.ok(source.reads <= 12, `read ${source.reads} blocks of an 8 GiB disk with 4 small extents`);
    const sink = new CheckingSink(source);
    await restoreDisk({ repo: ctx.repo, index: await ctx.repo.loadIndex(), processor: ctx.processor }, m, 'root', sink);
    assert.equal(sink.finalSize, size);
    assert.ok(sink.bytes >= 400_070 && sink.bytes <= 12 * BS, `restore wrote ${sink.bytes} bytes for 400,070 bytes of data`);
  });
});
