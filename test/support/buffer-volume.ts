// In-memory volumes and sinks for engine tests: a snapshot is a copy of a Buffer, changes are tracked.
import type { BlockList, SnapshotInfo, SnapshotRef, SnapshotSource, VolumeSink } from '../../core/snapshot/snapshot-source.ts';
import { isZero } from '../../core/repo/block-codec.ts';

interface Snap {
  data: Buffer;
  parent: string | null;
  changed: Set<number> | null;
}

export class BufferSnapshotSource implements SnapshotSource {
  readonly snaps = new Map<string, Snap>();
  readonly blockSize: number;
  reads = 0;
  #n = 0;
  constructor(blockSize = 512 * 1024) {
    this.blockSize = blockSize;
  }
  /** Takes a snapshot of `data`; `changed` lists blocks changed since `parent` (null: unknown). */
  snapshot(volumeId: string, data: Buffer, parent: string | null = null, changed: number[] | null = null): SnapshotRef {
    const snapshotId = `snap-${++this.#n}`;
    this.snaps.set(snapshotId, { data: Buffer.from(data), parent, changed: changed ? new Set(changed) : null });
    return { snapshotId, volumeId };
  }
  #get(ref: SnapshotRef): Snap {
    const s = this.snaps.get(ref.snapshotId);
    if (!s) throw new Error(`no snapshot ${ref.snapshotId}`);
    return s;
  }
  async describe(ref: SnapshotRef): Promise<SnapshotInfo> {
    return { ...ref, size: this.#get(ref).data.length, blockSize: this.blockSize, createdAt: 0 };
  }
  async listAllocatedBlocks(ref: SnapshotRef): Promise<BlockList> {
    const { data } = this.#get(ref);
    const blocks: number[] = [];
    for (let b = 0; b * this.blockSize < data.length; b++) {
      if (!isZero(data.subarray(b * this.blockSize, (b + 1) * this.blockSize))) blocks.push(b);
    }
    return { blockSize: this.blockSize, blocks };
  }
  async listChangedBlocks(base: SnapshotRef, ref: SnapshotRef): Promise<BlockList | null> {
    const s = this.#get(ref);
    if (s.parent !== base.snapshotId || s.changed === null) return null;
    return { blockSize: this.blockSize, blocks: [...s.changed].sort((a, b) => a - b) };
  }
  async readBlocks(ref: SnapshotRef, block: number, count: number, target: Uint8Array): Promise<void> {
    this.reads += count;
    const { data } = this.#get(ref);
    target.fill(0, 0, count * this.blockSize);
    const start = block * this.blockSize;
    const end = Math.min(data.length, start + count * this.blockSize);
    if (end > start) target.set(data.subarray(start, end), 0);
  }
}

export class BufferSink implements VolumeSink {
  data = Buffer.alloc(0);
  writes = 0;
  async write(offset: number, chunk: Uint8Array): Promise<void> {
    this.writes++;
    if (offset + chunk.length > this.data.length) {
      const grown = Buffer.alloc(offset + chunk.length);
      this.data.copy(grown);
      this.data = grown;
    }
    this.data.set(chunk, offset);
  }
  async finish(size: number): Promise<void> {
    const out = Buffer.alloc(size);
    this.data.copy(out, 0, 0, Math.min(size, this.data.length));
    this.data = out;
  }
}
