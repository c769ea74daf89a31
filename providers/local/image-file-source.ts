// A raw image file read as it is, as one snapshot: for `cloudkeep backup --image` and benchmarks.
import { open, stat, type FileHandle } from 'node:fs/promises';
import { basename } from 'node:path';
import { InvalidArgumentError, throwIfAborted } from '../../core/errors.ts';
import type { BlockList, SnapshotInfo, SnapshotRef, SnapshotSource } from '../../core/snapshot/snapshot-source.ts';
import type { IoOptions } from '../../core/store/object-store.ts';
import { readFully } from './image-files.ts';

export class ImageFileSource implements SnapshotSource {
  readonly path: string;
  readonly blockSize: number;
  #handle: Promise<FileHandle> | null = null;
  constructor(path: string, blockSize = 512 * 1024) {
    this.path = path;
    this.blockSize = blockSize;
  }
  /** The snapshot ref this source serves: the file's name and modification time. */
  async ref(): Promise<SnapshotRef> {
    const st = await this.#stat();
    return { snapshotId: `file-${Math.round(st.mtimeMs)}`, volumeId: basename(this.path) };
  }
  async #stat() {
    try {
      const st = await stat(this.path);
      if (!st.isFile() && !st.isBlockDevice()) throw new InvalidArgumentError(`${this.path} is not a file: expected a raw disk image`);
      return st;
    } catch (err) {
      if (err instanceof InvalidArgumentError) throw err;
      throw new InvalidArgumentError(`cannot read image ${JSON.stringify(this.path)}: ${(err as Error).message}`, { cause: err });
    }
  }
  async describe(snapshot: SnapshotRef): Promise<SnapshotInfo> {
    const st = await this.#stat();
    return { ...snapshot, size: st.size, blockSize: this.blockSize, createdAt: st.mtimeMs };
  }
  /** Every block: holes are found cheaply by the zero check of the pipeline. */
  async listAllocatedBlocks(snapshot: SnapshotRef): Promise<BlockList> {
    const { size } = await this.describe(snapshot);
    return { blockSize: this.blockSize, blocks: Array.from({ length: Math.ceil(size / this.blockSize) }, (_, i) => i) };
  }
  async listChangedBlocks(): Promise<BlockList | null> {
    return null;
  }
  async readBlocks(_snapshot: SnapshotRef, block: number, count: number, target: Uint8Array, options: IoOptions = {}): Promise<void> {
    throwIfAborted(options.signal);
    const length = count * this.blockSize;
    this.#handle ??= open(this.path, 'r');
    const n = await readFully(await this.#handle, target.subarray(0, length), block * this.blockSize);
    if (n < length) target.fill(0, n, length);
  }
  async close(): Promise<void> {
    const h = this.#handle;
    this.#handle = null;
    if (h) await (await h).close();
  }
}
