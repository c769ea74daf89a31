// The snapshot-source port: how a worker reads a point-in-time copy of a volume.
// Fits a local disk image, EBS direct APIs (ListSnapshotBlocks / ListChangedBlocks /
// GetSnapshotBlock, 512 KiB blocks) and Azure page-range diffs.
import type { IoOptions } from '../store/object-store.ts';

export interface SnapshotRef {
  /** Provider-specific snapshot id, e.g. "snap-0abc" or a local snapshot name. */
  snapshotId: string;
  /** The volume the snapshot was taken of. */
  volumeId: string;
}

export interface SnapshotInfo extends SnapshotRef {
  /** Volume size in bytes. */
  size: number;
  /** The provider's block size in bytes; reads and block lists use it. */
  blockSize: number;
  /** Milliseconds since the epoch. */
  createdAt: number;
}

export interface BlockList {
  blockSize: number;
  /** Sorted, distinct block indexes. */
  blocks: number[];
}

export interface SnapshotSource {
  /**
   * Milliseconds spent waiting for the source's own rate limits (e.g. the EBS GetSnapshotBlock
   * quota), when it keeps such a count; the engine reports it as throttling.
   */
  readonly throttledMs?: number;
  describe(snapshot: SnapshotRef, options?: IoOptions): Promise<SnapshotInfo>;
  /**
   * Blocks that may hold data. A source that cannot tell returns every block.
   * Blocks not listed read as zeros.
   */
  listAllocatedBlocks(snapshot: SnapshotRef, options?: IoOptions): Promise<BlockList>;
  /**
   * Blocks that differ between base and snapshot (same volume lineage), or null when the
   * source cannot tell (different lineage, base gone): the caller then reads allocated blocks.
   */
  listChangedBlocks(base: SnapshotRef, snapshot: SnapshotRef, options?: IoOptions): Promise<BlockList | null>;
  /**
   * Reads `count` consecutive blocks starting at `block` into `target` (length count*blockSize,
   * the last block zero-padded past the volume's end).
   */
  readBlocks(snapshot: SnapshotRef, block: number, count: number, target: Uint8Array, options?: IoOptions): Promise<void>;
}

/** What a backup target volume gives the restore path: where to write the blocks. */
export interface VolumeSink {
  /** Writes data at the byte offset. */
  write(offset: number, data: Uint8Array, options?: IoOptions): Promise<void>;
  /** Makes the sink `size` bytes long, with unwritten ranges reading as zeros. */
  finish(size: number, options?: IoOptions): Promise<void>;
}
