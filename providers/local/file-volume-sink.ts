// A restore target that is a raw image file: blocks land by positioned writes, gaps stay holes.
import { open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { FileBackedSink } from '../../core/engine/restore.ts';
import type { IoOptions } from '../../core/store/object-store.ts';
import { CloudkeepError, InvalidArgumentError, throwIfAborted } from '../../core/errors.ts';
import { openDirect } from './direct-io.ts';
import { syncDirectory, writeFully } from './image-files.ts';

/** Default bytes written through the descriptor between background write-backs (see wrote()). */
export const FLUSH_EVERY = 256 * 1024 * 1024;

export class FileVolumeSink implements FileBackedSink {
  readonly path: string;
  // One shared open, so parallel first writes do not race to create the file.
  private handle: Promise<FileHandle> | undefined;
  /** The file opened again with O_DIRECT for the lanes' aligned runs (null: the file system refuses it). */
  private direct: Promise<FileHandle | null> | undefined;
  private state: 'open' | 'finished' | 'closed' = 'open';
  /** Write-back started in the background while the restore goes on, so the final sync has little left to do. */
  private flushing: Promise<void> | null = null;
  private unflushed = 0;
  private readonly flushEvery: number;
  /** Background write-backs started so far. */
  flushesStarted = 0;

  constructor(path: string, options: { flushEvery?: number } = {}) {
    this.path = path;
    this.flushEvery = options.flushEvery ?? FLUSH_EVERY;
  }

  async write(offset: number, data: Uint8Array, options: IoOptions = {}): Promise<void> {
    throwIfAborted(options.signal);
    if (!Number.isSafeInteger(offset) || offset < 0) {
      throw new InvalidArgumentError(`write offset ${offset} for ${this.path}: expected a non-negative integer`);
    }
    const handle = await this.openHandle();
    await writeFully(handle, data, offset);
  }

  /** The open file's descriptor, for processor lanes that write restored blocks themselves (positioned writes). */
  async fileDescriptor(options: IoOptions = {}): Promise<number> {
    throwIfAborted(options.signal);
    return (await this.openHandle()).fd;
  }

  /** The file's O_DIRECT descriptor, for lanes' block-aligned runs from aligned memory; null where the file system refuses it. */
  async directDescriptor(options: IoOptions = {}): Promise<number | null> {
    await this.fileDescriptor(options);
    this.direct ??= openDirect(this.path);
    return (await this.direct)?.fd ?? null;
  }

  /**
   * Counts bytes the lanes wrote through the descriptor; every `flushEvery` bytes it starts a
   * datasync in the background (one at a time), so the disk writes while the restore computes
   * instead of all at once in finish().
   */
  wrote(bytes: number): void {
    this.unflushed += bytes;
    if (this.flushing || this.unflushed < this.flushEvery || !this.handle || this.state !== 'open') return;
    this.unflushed = 0;
    this.flushesStarted++;
    const handle = this.handle;
    this.flushing = handle
      .then((h) => h.datasync())
      .catch(() => undefined) // finish() syncs again and reports a failure there
      .finally(() => {
        this.flushing = null;
      });
  }

  /** Sets the final size (cutting or extending with a hole), then makes file and name durable. */
  async finish(size: number, options: IoOptions = {}): Promise<void> {
    throwIfAborted(options.signal);
    if (!Number.isSafeInteger(size) || size < 0) {
      throw new InvalidArgumentError(`image size ${size} for ${this.path}: expected a non-negative integer`);
    }
    const handle = await this.openHandle();
    this.state = 'finished';
    try {
      await this.flushing;
      await this.closeDirect();
      await handle.truncate(size);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await syncDirectory(dirname(this.path));
  }

  /** Releases the file without finishing it, for a restore that failed part-way. */
  async close(): Promise<void> {
    if (this.state !== 'open') return;
    this.state = 'closed';
    await this.flushing;
    await this.closeDirect();
    if (this.handle) await (await this.handle).close();
  }

  private async closeDirect(): Promise<void> {
    const direct = this.direct;
    this.direct = undefined;
    await (await direct?.catch(() => null))?.close();
  }

  private openHandle(): Promise<FileHandle> {
    if (this.state !== 'open') {
      return Promise.reject(new CloudkeepError(`volume sink ${this.path} is already ${this.state}: expected no calls after finish or close`));
    }
    // 'w' truncates: whatever an earlier file held must not show through the unwritten ranges.
    this.handle ??= open(this.path, 'w');
    return this.handle;
  }
}
