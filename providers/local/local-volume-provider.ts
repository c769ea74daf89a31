// Volumes as raw image files and snapshots as point-in-time copies, with block-level change tracking.
import { randomBytes } from 'node:crypto';
import { open } from 'node:fs/promises';
import type { BlockList, SnapshotInfo, SnapshotRef, SnapshotSource } from '../../core/snapshot/snapshot-source.ts';
import type { IoOptions } from '../../core/store/object-store.ts';
import { systemClock, type Clock } from '../../core/clock.ts';
import { InvalidArgumentError, throwIfAborted } from '../../core/errors.ts';
import { copyImage, isAllZero, readFully, writeFully } from './image-files.ts';
import { SharedReadHandles } from './shared-read-handles.ts';
import {
  KeyedLock, RecordStore, mergeChanges, sameStamp, sortedUnique, stampOf,
  type SnapshotRecord, type VolumeRecord,
} from './volume-records.ts';

export interface LocalVolumeProviderOptions {
  /** Directory holding volumes/ and snapshots/; created when missing. */
  root: string;
  /** Block size of new volumes; default 512 KiB, the EBS direct-API block. */
  blockSize?: number;
  clock?: Clock;
}

export interface LocalVolumeInfo {
  volumeId: string;
  size: number;
  blockSize: number;
  createdAt: number;
  headSnapshotId: string | null;
  /** Blocks written since the latest snapshot, or null when an outside write made that unknown. */
  dirtyBlocks: number[] | null;
}

export interface LocalSnapshotInfo extends SnapshotInfo {
  parentSnapshotId: string | null;
  changedSinceParent: number[] | null;
}

const DEFAULT_BLOCK_SIZE = 512 * 1024;
const SCAN_CHUNK = 8 * 1024 * 1024;

export class LocalVolumeProvider implements SnapshotSource {
  readonly root: string;
  readonly blockSize: number;
  private readonly clock: Clock;
  private readonly records: RecordStore;
  // Serialises changes per volume: the dirty set is a read-modify-write of the sidecar.
  private readonly locks = new KeyedLock();
  // Size and block size of a snapshot never change, so reads need not re-parse its sidecar.
  private readonly infoCache = new Map<string, SnapshotInfo>();
  /** Reads in flight on one snapshot share its open handle. */
  private readonly readHandles = new SharedReadHandles();

  constructor(options: LocalVolumeProviderOptions) {
    const blockSize = options.blockSize ?? DEFAULT_BLOCK_SIZE;
    if (!Number.isSafeInteger(blockSize) || blockSize < 512 || blockSize % 512 !== 0) {
      throw new InvalidArgumentError(`block size ${blockSize}: expected a positive multiple of 512`);
    }
    this.root = options.root;
    this.blockSize = blockSize;
    this.clock = options.clock ?? systemClock;
    this.records = new RecordStore(options.root);
  }

  /** The volume's image file, for tools that fill it directly (its next snapshot then has no change set). */
  volumePath(volumeId: string): string {
    return this.records.volumePath(volumeId);
  }

  snapshotPath(snapshotId: string): string {
    return this.records.snapshotPath(snapshotId);
  }

  /** A new all-zero volume: a sparse file, so it costs no space until written. */
  async createVolume(volumeId: string, size: number): Promise<LocalVolumeInfo> {
    const path = this.volumePath(volumeId);
    if (!Number.isSafeInteger(size) || size <= 0) throw new InvalidArgumentError(`volume size ${size}: expected a positive integer`);
    await this.records.ensureDirectories();
    const handle = await open(path, 'wx').catch((err: NodeJS.ErrnoException) => {
      throw err.code === 'EEXIST' ? new InvalidArgumentError(`volume ${JSON.stringify(volumeId)} already exists: expected a new id`) : err;
    });
    try {
      await handle.truncate(size);
    } finally {
      await handle.close();
    }
    // Nothing written yet, so the change set since "creation" is known and empty.
    return this.recordNewVolume(volumeId, []);
  }

  /** Copies an existing image in (reflink where possible). What it holds is unknown: no change set. */
  async importVolume(volumeId: string, imagePath: string, options: IoOptions = {}): Promise<LocalVolumeInfo> {
    const path = this.volumePath(volumeId);
    await this.records.ensureDirectories();
    await copyImage(imagePath, path, options).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'EEXIST') throw new InvalidArgumentError(`volume ${JSON.stringify(volumeId)} already exists: expected a new id`);
      if (err.code === 'ENOENT') throw new InvalidArgumentError(`image ${imagePath} does not exist: expected a raw disk image file`);
      throw err;
    });
    return this.recordNewVolume(volumeId, null);
  }

  async describeVolume(volumeId: string): Promise<LocalVolumeInfo> {
    return volumeInfo(await this.records.loadVolume(volumeId));
  }

  /** Writes data and adds the touched blocks to the volume's dirty set (local changed-block tracking). */
  async writeVolume(volumeId: string, offset: number, data: Uint8Array, options: IoOptions = {}): Promise<void> {
    const path = this.volumePath(volumeId);
    await this.locks.run(volumeId, async () => {
      throwIfAborted(options.signal);
      const volume = await this.records.loadVolume(volumeId);
      assertRange(volumeId, offset, data.length, volume.size);
      if (data.length === 0) return;
      // Checked before writing: our own write would otherwise mask an earlier outside change.
      const tracked = volume.dirtyBlocks !== null && sameStamp(await stampOf(path), volume.stamp);
      const handle = await open(path, 'r+');
      try {
        await writeFully(handle, data, offset);
      } finally {
        await handle.close();
      }
      const touched: number[] = [];
      for (let b = Math.floor(offset / volume.blockSize); b <= Math.floor((offset + data.length - 1) / volume.blockSize); b++) touched.push(b);
      volume.dirtyBlocks = tracked ? sortedUnique([...(volume.dirtyBlocks ?? []), ...touched]) : null;
      volume.stamp = await stampOf(path);
      volume.size = volume.stamp.size;
      await this.records.saveVolume(volume);
    });
  }

  async readVolume(volumeId: string, offset: number, length: number): Promise<Buffer> {
    const volume = await this.records.loadVolume(volumeId);
    assertRange(volumeId, offset, length, volume.size);
    const buffer = Buffer.alloc(length);
    const handle = await open(this.volumePath(volumeId), 'r');
    try {
      await readFully(handle, buffer, offset);
    } finally {
      await handle.close();
    }
    return buffer;
  }

  /** Copies the volume as it is now; the copy records which blocks changed since the previous one. */
  async createSnapshot(volumeId: string, options: IoOptions = {}): Promise<LocalSnapshotInfo> {
    const path = this.volumePath(volumeId);
    return this.locks.run(volumeId, async () => {
      const volume = await this.records.loadVolume(volumeId);
      const before = await stampOf(path);
      const createdAt = this.clock.now();
      const snapshotId = `snap-${createdAt}-${randomBytes(4).toString('hex')}`;
      const copy = await copyImage(path, this.snapshotPath(snapshotId), { ...options, blockSize: volume.blockSize });
      // An outside write (or one during the copy) leaves the change set unknown.
      const tracked = sameStamp(before, volume.stamp) && sameStamp(before, await stampOf(path));
      const snapshot: SnapshotRecord = {
        format: 1, snapshotId, volumeId, size: before.size, blockSize: volume.blockSize, createdAt,
        sequence: volume.nextSequence, parentSnapshotId: volume.headSnapshotId,
        changedSinceParent: tracked ? volume.dirtyBlocks : null,
        ...(copy.allocatedBlocks ? { allocatedBlocks: copy.allocatedBlocks } : {}),
      };
      await this.records.saveSnapshot(snapshot);
      // Keeps the stamp from before the copy, so a write during the copy is still seen as outside.
      await this.records.saveVolume({
        ...volume, size: before.size, headSnapshotId: snapshotId, nextSequence: volume.nextSequence + 1,
        dirtyBlocks: [], stamp: before,
      });
      return snapshotInfo(snapshot);
    });
  }

  /** The volume's snapshots, oldest first. */
  async listSnapshots(volumeId: string): Promise<LocalSnapshotInfo[]> {
    await this.records.loadVolume(volumeId);
    return (await this.records.snapshotsOf(volumeId)).map(snapshotInfo);
  }

  /** Deletes a snapshot; its change set moves into its child (or the volume's dirty set) to keep diffs right. */
  async deleteSnapshot(snapshotId: string): Promise<void> {
    const { volumeId } = await this.records.loadSnapshot(snapshotId);
    await this.locks.run(volumeId, async () => {
      const snapshot = await this.records.loadSnapshot(snapshotId);
      for (const child of await this.records.snapshotsOf(volumeId)) {
        if (child.parentSnapshotId !== snapshotId) continue;
        await this.records.saveSnapshot({
          ...child, parentSnapshotId: snapshot.parentSnapshotId,
          changedSinceParent: mergeChanges(child.changedSinceParent, snapshot.changedSinceParent),
        });
      }
      const volume = await this.records.findVolume(volumeId);
      if (volume?.headSnapshotId === snapshotId) {
        await this.records.saveVolume({
          ...volume, headSnapshotId: snapshot.parentSnapshotId,
          dirtyBlocks: mergeChanges(volume.dirtyBlocks, snapshot.changedSinceParent),
        });
      }
      this.infoCache.delete(snapshotId);
      await this.records.removeSnapshot(snapshotId);
    });
  }

  async describe(snapshot: SnapshotRef, options: IoOptions = {}): Promise<SnapshotInfo> {
    throwIfAborted(options.signal);
    return this.snapshotInfoOf(snapshot);
  }

  /** Blocks holding any non-zero byte, found by scanning the copy (cheap enough for a local file). */
  async listAllocatedBlocks(snapshot: SnapshotRef, options: IoOptions = {}): Promise<BlockList> {
    const { size, blockSize } = await this.snapshotInfoOf(snapshot);
    const noted = (await this.records.loadSnapshot(snapshot.snapshotId, snapshot.volumeId)).allocatedBlocks;
    if (noted) return { blockSize, blocks: noted };
    const chunk = Buffer.allocUnsafe(Math.max(blockSize, Math.floor(SCAN_CHUNK / blockSize) * blockSize));
    const blocks: number[] = [];
    const handle = await open(this.snapshotPath(snapshot.snapshotId), 'r');
    try {
      for (let position = 0; position < size; position += chunk.length) {
        throwIfAborted(options.signal);
        const length = await readFully(handle, chunk.subarray(0, Math.min(chunk.length, size - position)), position);
        for (let at = 0; at < length; at += blockSize) {
          if (!isAllZero(chunk.subarray(at, Math.min(at + blockSize, length)))) blocks.push((position + at) / blockSize);
        }
      }
    } finally {
      await handle.close();
    }
    return { blockSize, blocks };
  }

  /** Unions the change sets along the parent chain from snapshot back to base; null when any link is unknown. */
  async listChangedBlocks(base: SnapshotRef, snapshot: SnapshotRef, options: IoOptions = {}): Promise<BlockList | null> {
    const target = await this.records.loadSnapshot(snapshot.snapshotId, snapshot.volumeId);
    const origin = await this.records.findSnapshot(base.snapshotId);
    if (!origin || origin.volumeId !== base.volumeId || origin.volumeId !== target.volumeId) return null;
    if (origin.size !== target.size || origin.blockSize !== target.blockSize) return null;
    const changed = new Set<number>();
    const visited = new Set<string>();
    let current: SnapshotRecord | undefined = target;
    while (current.snapshotId !== origin.snapshotId) {
      throwIfAborted(options.signal);
      if (current.changedSinceParent === null || current.parentSnapshotId === null || visited.has(current.snapshotId)) return null;
      visited.add(current.snapshotId);
      for (const block of current.changedSinceParent) changed.add(block);
      current = await this.records.findSnapshot(current.parentSnapshotId);
      // A parent gone without its change set merged (e.g. a crash mid-delete): cannot tell.
      if (!current) return null;
    }
    return { blockSize: target.blockSize, blocks: sortedUnique(changed) };
  }

  async readBlocks(snapshot: SnapshotRef, block: number, count: number, target: Uint8Array, options: IoOptions = {}): Promise<void> {
    throwIfAborted(options.signal);
    const { size, blockSize } = await this.snapshotInfoOf(snapshot);
    const blockCount = Math.ceil(size / blockSize);
    if (!Number.isSafeInteger(block) || !Number.isSafeInteger(count) || block < 0 || count < 0 || block + count > blockCount) {
      throw new InvalidArgumentError(`blocks ${block}+${count} of snapshot ${snapshot.snapshotId}: expected a range within its ${blockCount} blocks`);
    }
    if (target.length !== count * blockSize) {
      throw new InvalidArgumentError(`target of ${target.length} bytes for ${count} blocks: expected ${count * blockSize} bytes`);
    }
    await this.readHandles.use(this.snapshotPath(snapshot.snapshotId), async (handle) => {
      const read = await readFully(handle, target, block * blockSize);
      // The last block reaches past the end of the volume: those bytes read as zeros.
      target.fill(0, read);
    });
  }

  private async snapshotInfoOf(ref: SnapshotRef): Promise<SnapshotInfo> {
    const cached = this.infoCache.get(ref.snapshotId);
    if (cached && cached.volumeId === ref.volumeId) return cached;
    const r = await this.records.loadSnapshot(ref.snapshotId, ref.volumeId);
    const info: SnapshotInfo = { snapshotId: r.snapshotId, volumeId: r.volumeId, size: r.size, blockSize: r.blockSize, createdAt: r.createdAt };
    this.infoCache.set(ref.snapshotId, info);
    return info;
  }

  private async recordNewVolume(volumeId: string, dirtyBlocks: number[] | null): Promise<LocalVolumeInfo> {
    const stamp = await stampOf(this.volumePath(volumeId));
    const record: VolumeRecord = {
      format: 1, volumeId, size: stamp.size, blockSize: this.blockSize, createdAt: this.clock.now(),
      headSnapshotId: null, nextSequence: 1, dirtyBlocks, stamp,
    };
    await this.records.saveVolume(record);
    return volumeInfo(record);
  }
}

function assertRange(volumeId: string, offset: number, length: number, size: number): void {
  if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0 || offset + length > size) {
    throw new InvalidArgumentError(`range of ${length} bytes at offset ${offset} in volume ${volumeId}: expected it within the volume's ${size} bytes`);
  }
}

function volumeInfo(r: VolumeRecord): LocalVolumeInfo {
  return { volumeId: r.volumeId, size: r.size, blockSize: r.blockSize, createdAt: r.createdAt, headSnapshotId: r.headSnapshotId, dirtyBlocks: r.dirtyBlocks };
}

function snapshotInfo(r: SnapshotRecord): LocalSnapshotInfo {
  return {
    snapshotId: r.snapshotId, volumeId: r.volumeId, size: r.size, blockSize: r.blockSize, createdAt: r.createdAt,
    parentSnapshotId: r.parentSnapshotId, changedSinceParent: r.changedSinceParent,
  };
}
