// File helpers shared by the local provider, the file sink and the image generator.
import { constants as fsConstants } from 'node:fs';
import { copyFile, open, rm, type FileHandle } from 'node:fs/promises';
import type { IoOptions } from '../../core/store/object-store.ts';
import { throwIfAborted } from '../../core/errors.ts';

const ZERO_PAGE_SIZE = 1024 * 1024;
const ZERO_PAGE = Buffer.alloc(ZERO_PAGE_SIZE);
/** Granularity at which the sparse copy looks for zeros: the usual file-system block. */
const HOLE_GRANULE = 4096;
const COPY_CHUNK = 8 * 1024 * 1024;

/** True when every byte is zero (memcmp against a zero page, so it runs at memory speed). */
export function isAllZero(bytes: Uint8Array): boolean {
  for (let at = 0; at < bytes.length; at += ZERO_PAGE_SIZE) {
    const n = Math.min(ZERO_PAGE_SIZE, bytes.length - at);
    const view = Buffer.from(bytes.buffer, bytes.byteOffset + at, n);
    if (!view.equals(n === ZERO_PAGE_SIZE ? ZERO_PAGE : ZERO_PAGE.subarray(0, n))) return false;
  }
  return true;
}

/** Reads into target from position until it is full or the file ends; returns the bytes read. */
export async function readFully(handle: FileHandle, target: Uint8Array, position: number): Promise<number> {
  let done = 0;
  while (done < target.length) {
    const { bytesRead } = await handle.read(target, done, target.length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done;
}

/** Writes all of data at position (a single pwrite may be short). */
export async function writeFully(handle: FileHandle, data: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < data.length) {
    const { bytesWritten } = await handle.write(data, done, data.length - done, position + done);
    done += bytesWritten;
  }
}

export type CopyMethod = 'reflink' | 'sparse-copy';

/**
 * Copies an image file to a new path (which must not exist).
 *
 * A reflink (FICLONE) shares extents, so it is instant and keeps holes. Where the file system
 * cannot reflink (ext4, tmpfs, across devices) copyFile's own fallback copies every byte and
 * turns holes into allocated zeros, and node offers no SEEK_DATA/SEEK_HOLE to skip them; so we
 * copy ourselves and leave every all-zero 4 KiB granule unwritten. That keeps (or even adds)
 * sparseness at the price of reading the holes, which the kernel serves as zero pages.
 */
export async function copyImage(source: string, destination: string, options: IoOptions & { blockSize?: number } = {}): Promise<{ method: CopyMethod; allocatedBlocks?: number[] }> {
  throwIfAborted(options.signal);
  try {
    await copyFile(source, destination, fsConstants.COPYFILE_EXCL | fsConstants.COPYFILE_FICLONE_FORCE);
    return { method: 'reflink' };
  } catch (err) {
    if (!isNoReflink(err)) throw err;
  }
  const allocated = new Set<number>();
  await sparseCopy(source, destination, options, (offset) => allocated.add(Math.floor(offset / (options.blockSize ?? COPY_CHUNK))));
  // The copy read every byte anyway, so it also says which blocks hold data (no second scan).
  return { method: 'sparse-copy', allocatedBlocks: options.blockSize ? [...allocated].sort((a, b) => a - b) : undefined };
}

function isNoReflink(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOTSUP' || code === 'EOPNOTSUPP' || code === 'EXDEV' || code === 'EINVAL' || code === 'ENOSYS' || code === 'ENOTTY';
}

async function sparseCopy(source: string, destination: string, options: IoOptions, onData: (offset: number) => void): Promise<void> {
  const input = await open(source, 'r');
  let output: FileHandle | undefined;
  try {
    output = await open(destination, 'wx');
  } catch (err) {
    await input.close();
    throw err;
  }
  try {
    const size = (await input.stat()).size;
    const buffer = Buffer.allocUnsafe(COPY_CHUNK);
    for (let position = 0; position < size; position += COPY_CHUNK) {
      throwIfAborted(options.signal);
      const length = await readFully(input, buffer.subarray(0, Math.min(COPY_CHUNK, size - position)), position);
      await writeNonZeroRuns(output, buffer.subarray(0, length), position, onData);
    }
    // Sets the size even when the file ends in a hole.
    await output.truncate(size);
    await output.close();
    output = undefined;
  } catch (err) {
    // Only ever removes a file this call created ('wx' above).
    await output?.close().catch(() => {});
    await rm(destination, { force: true });
    throw err;
  } finally {
    await input.close();
  }
}

/** Writes the non-zero granules of chunk at position, merging neighbours into one write. */
async function writeNonZeroRuns(output: FileHandle, chunk: Buffer, position: number, onData: (offset: number) => void): Promise<void> {
  let runStart = -1;
  for (let at = 0; at < chunk.length; at += HOLE_GRANULE) {
    const end = Math.min(at + HOLE_GRANULE, chunk.length);
    const zero = chunk.subarray(at, end).equals(ZERO_PAGE.subarray(0, end - at));
    if (!zero) onData(position + at);
    if (!zero && runStart < 0) runStart = at;
    if (zero && runStart >= 0) {
      await writeFully(output, chunk.subarray(runStart, at), position + runStart);
      runStart = -1;
    }
  }
  if (runStart >= 0) await writeFully(output, chunk.subarray(runStart), position + runStart);
}

/** A new file's directory entry is durable only once its directory is synced. */
export async function syncDirectory(dir: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch (err) {
    // Some platforms and file systems refuse to open or fsync a directory; the data itself is synced.
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'EINVAL' && code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EBADF') throw err;
  } finally {
    await handle?.close().catch(() => {});
  }
}
