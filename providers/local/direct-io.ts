// Files opened for O_DIRECT writes from page-aligned buffers (core/util/aligned-buffer.ts), so large
// objects skip the page cache's copy (the writes: file-upload.ts); file systems that refuse O_DIRECT
// (tmpfs) get ordinary descriptors.
import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { alignUp, isAligned } from '../../core/util/aligned-buffer.ts';

const O_DIRECT: number = constants.O_DIRECT ?? 0;
/** Smaller objects go through the page cache: a direct write's wait for the device is not worth it. */
export const DIRECT_MIN = 1024 * 1024;

/** Whether `data` may be written with O_DIRECT: aligned, large, and with room in its buffer to pad the last block. */
export function directWritable(data: Uint8Array): boolean {
  return O_DIRECT !== 0 && data.length >= DIRECT_MIN && isAligned(data) && data.buffer.byteLength - data.byteOffset >= alignUp(data.length);
}

/** A new file (that must not exist) for writing, with O_DIRECT when `direct` and the file system allows it. */
export async function createFile(path: string, direct: boolean): Promise<{ handle: FileHandle; direct: boolean }> {
  if (!direct) return { handle: await open(path, 'wx'), direct: false };
  try {
    return { handle: await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | O_DIRECT, 0o666), direct: true };
  } catch (err) {
    // The file system refuses O_DIRECT; Linux may have created the file before refusing.
    if ((err as NodeJS.ErrnoException).code !== 'EINVAL') throw err;
    return { handle: await open(path, 'w'), direct: false };
  }
}

/** An existing file opened again for direct writes; null when the file system refuses O_DIRECT. */
export async function openDirect(path: string): Promise<FileHandle | null> {
  if (O_DIRECT === 0) return null;
  try {
    return await open(path, constants.O_WRONLY | O_DIRECT);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EINVAL') return null;
    throw err;
  }
}
