// An ObjectStore on a local directory: each key is a file, written atomically by temp-file + rename.
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rename, rmdir, stat, unlink, type FileHandle } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CloudkeepError, throwIfAborted } from '../../core/errors.ts';
import { createFile, directWritable } from './direct-io.ts';
import { FileUpload, type TempFile } from './file-upload.ts';
import { syncDirectory } from './image-files.ts';
import { SharedReadHandles } from './shared-read-handles.ts';
import { mapLimit } from '../../core/util/concurrency.ts';
import {
  assertValidKey,
  ObjectNotFoundError,
  StoreError,
  type GetOptions,
  type IoOptions,
  type ObjectInfo,
  type ObjectStore,
  type ObjectUpload,
  type PutOptions,
  type StoreCapabilities,
} from '../../core/store/object-store.ts';

/** Names of in-flight (or crashed) puts; never objects. */
export const TEMP_PREFIX = '.tmp-';

// Conditions that usually clear on their own: busy files, descriptor exhaustion, interrupted calls.
const RETRYABLE_CODES = new Set(['EAGAIN', 'EWOULDBLOCK', 'EBUSY', 'EMFILE', 'ENFILE', 'EINTR', 'ETIMEDOUT']);
// A path component is missing or is a file: either way no object lives at the key.
const NOT_FOUND_CODES = new Set(['ENOENT', 'ENOTDIR']);

export class FileObjectStore implements ObjectStore {
  readonly root: string;
  readonly description: string;
  readonly capabilities: StoreCapabilities = { conditionalWrites: false, objectLock: false, storageTiers: false };

  /** Packs renamed into place but not yet fsynced, and their directories (see flush). */
  readonly #pendingFiles = new Set<string>();
  readonly #readHandles = new SharedReadHandles();
  readonly #pendingDirs = new Set<string>();

  constructor(root: string) {
    this.root = resolve(root);
    this.description = pathToFileURL(this.root).href;
  }

  /** Fsyncs every pack written since the last flush, then their directories. */
  async flush(options: IoOptions = {}): Promise<void> {
    const files = [...this.#pendingFiles];
    const dirs = [...this.#pendingDirs];
    this.#pendingFiles.clear();
    this.#pendingDirs.clear();
    try {
      await mapLimit(files, 8, async (path) => {
        throwIfAborted(options.signal);
        let handle: FileHandle | undefined;
        try {
          handle = await open(path, 'r');
          await handle.sync();
        } catch (err) {
          if (!NOT_FOUND_CODES.has(codeOf(err) ?? '')) throw err; // deleted since: nothing to make durable
        } finally {
          await handle?.close().catch(() => {});
        }
      });
      for (const dir of dirs) await syncDirectory(dir).catch((err: unknown) => (NOT_FOUND_CODES.has(codeOf(err) ?? '') ? undefined : Promise.reject(err)));
    } catch (err) {
      for (const f of files) this.#pendingFiles.add(f);
      for (const d of dirs) this.#pendingDirs.add(d);
      throw this.translate(err, 'flush', '');
    }
  }

  /** A whole object: an upload of one piece (directly when `data` is large page-aligned memory). */
  async put(key: string, data: Uint8Array, options: PutOptions = {}): Promise<void> {
    await new FileUpload(await this.#createTemp(key, directWritable(data), options), (err) => this.translate(err, 'put', key)).commit(data);
  }

  /** An object written to its temp file as it comes: whole aligned blocks directly, the rest through the page cache. */
  async beginUpload(key: string, options: PutOptions = {}): Promise<ObjectUpload> {
    return new FileUpload(await this.#createTemp(key, true, options), (err) => this.translate(err, 'put', key));
  }

  /**
   * A new temp file beside `key`'s path, and how to put it in place (fsync, or deferred for packs;
   * close, rename, directory sync) or discard it. Nothing is visible under `key` before commit.
   */
  async #createTemp(key: string, direct: boolean, options: PutOptions): Promise<TempFile> {
    const { signal } = options;
    const target = this.pathOf(key);
    const dir = dirname(target);
    const path = join(dir, `${TEMP_PREFIX}${randomBytes(8).toString('hex')}`);
    // Packs are made durable in batches (flush); anything else first makes every earlier put durable.
    const deferred = options.kind === 'pack' || options.kind === 'tree-pack';
    let file: { handle: FileHandle; direct: boolean } | undefined;
    try {
      if (!deferred) await this.flush({ signal });
      // A concurrent delete may prune directories between our mkdir and the temp file pinning them; remake them.
      for (let attempt = 1; file === undefined; attempt++) {
        throwIfAborted(signal);
        try {
          await mkdir(dir, { recursive: true });
          throwIfAborted(signal);
          file = await createFile(path, direct);
        } catch (err) {
          if (attempt >= 5 || codeOf(err) !== 'ENOENT') throw err;
        }
      }
    } catch (err) {
      throw this.translate(err, 'put', key);
    }
    const opened = file;
    let closed = false;
    const discard = async () => {
      if (!closed) await opened.handle.close().catch(() => {});
      closed = true;
      await unlink(path).catch(() => {});
    };
    const commit = async () => {
      try {
        throwIfAborted(signal);
        if (!deferred) await opened.handle.sync();
        closed = true;
        await opened.handle.close();
        throwIfAborted(signal);
        await rename(path, target);
      } catch (err) {
        await discard();
        throw this.translate(err, 'put', key);
      }
      if (deferred) {
        this.#pendingFiles.add(target);
        this.#pendingDirs.add(dir);
        return;
      }
      // The object is visible now; cancelling here would report failure for a completed put.
      await syncDirectory(dir).catch((err: unknown) => {
        throw this.translate(err, 'put', key);
      });
    };
    return { path, file: opened, commit, discard };
  }

  async get(key: string, options: GetOptions = {}): Promise<Buffer> {
    const { signal, range, into } = options;
    try {
      throwIfAborted(signal);
      if (range === undefined) {
        // A whole read uses the handle's file position: a handle of its own.
        const handle = await open(this.pathOf(key), 'r');
        try {
          if (!(await handle.stat()).isFile()) throw new ObjectNotFoundError(key);
          throwIfAborted(signal);
          return await handle.readFile();
        } finally {
          await handle.close().catch(() => {});
        }
      }
      // Ranged (positioned) reads of one object in flight at once (restore, verify) share one open handle.
      return await this.#readHandles.use(this.pathOf(key), async (handle) => {
        throwIfAborted(signal);
        const info = await handle.stat();
        if (!info.isFile()) throw new ObjectNotFoundError(key);
        checkRange(key, range.offset, range.length, info.size);
        // Every byte is read below (or the read fails), so the buffer need not be zeroed first.
        const buffer = into && into.length >= range.length ? into.subarray(0, range.length) : Buffer.allocUnsafeSlow(range.length);
        let filled = 0;
        while (filled < range.length) {
          throwIfAborted(signal);
          const { bytesRead } = await handle.read(buffer, filled, range.length - filled, range.offset + filled);
          if (bytesRead === 0) throw new StoreError(`${key} in ${this.description} shrank while being read`, key, { retryable: true });
          filled += bytesRead;
        }
        return buffer;
      });
    } catch (err) {
      throw this.translate(err, 'get', key);
    }
  }

  async stat(key: string, options: IoOptions = {}): Promise<ObjectInfo> {
    const path = this.pathOf(key);
    try {
      throwIfAborted(options.signal);
      const info = await stat(path);
      if (!info.isFile()) throw new ObjectNotFoundError(key);
      return { key, size: info.size, lastModified: Math.floor(info.mtimeMs) };
    } catch (err) {
      throw this.translate(err, 'stat', key);
    }
  }

  async *list(prefix: string, options: IoOptions = {}): AsyncIterable<ObjectInfo> {
    throwIfAborted(options.signal);
    // Only the directory part of the prefix narrows the walk; the rest may end mid-segment.
    const slash = prefix.lastIndexOf('/');
    const dirKey = slash < 0 ? '' : prefix.slice(0, slash);
    if (dirKey !== '') {
      try {
        assertValidKey(dirKey);
      } catch {
        return; // no valid key can start with this prefix, and the path must not leave the root
      }
    }
    yield* this.walk(dirKey, prefix, options.signal);
  }

  async delete(key: string, options: IoOptions = {}): Promise<void> {
    const path = this.pathOf(key);
    try {
      throwIfAborted(options.signal);
      await unlink(path);
    } catch (err) {
      const code = codeOf(err);
      // EISDIR: the key names a directory of other keys, so no object of that name exists.
      if (code !== undefined && (NOT_FOUND_CODES.has(code) || code === 'EISDIR')) return;
      throw this.translate(err, 'delete', key);
    }
    await this.pruneEmptyParents(dirname(path));
  }

  private async *walk(dirKey: string, prefix: string, signal: AbortSignal | undefined): AsyncGenerator<ObjectInfo> {
    throwIfAborted(signal);
    const dirPath = dirKey === '' ? this.root : join(this.root, ...dirKey.split('/'));
    let entries;
    try {
      entries = await readdir(dirPath, { withFileTypes: true });
    } catch (err) {
      if (NOT_FOUND_CODES.has(codeOf(err) ?? '')) return; // removed by a concurrent delete, or never made
      throw this.translate(err, 'list', prefix);
    }
    for (const entry of entries) {
      // Files not written by put (temp files, names outside the key alphabet) are not objects.
      if (entry.name.startsWith(TEMP_PREFIX) || !isKeySegment(entry.name)) continue;
      const key = dirKey === '' ? entry.name : `${dirKey}/${entry.name}`;
      if (entry.isDirectory()) {
        // The walk starts at the prefix's directory, so only the last, partial segment still filters.
        if (`${key}/`.startsWith(prefix)) yield* this.walk(key, prefix, signal);
      } else if (entry.isFile() && key.startsWith(prefix)) {
        throwIfAborted(signal);
        let info;
        try {
          info = await stat(join(dirPath, entry.name));
        } catch (err) {
          if (NOT_FOUND_CODES.has(codeOf(err) ?? '')) continue; // deleted since readdir
          throw this.translate(err, 'list', key);
        }
        yield { key, size: info.size, lastModified: Math.floor(info.mtimeMs) };
      }
    }
  }

  // Best effort: leftover empty directories are harmless, so failures here are ignored.
  private async pruneEmptyParents(dir: string): Promise<void> {
    while (dir !== this.root && dir.startsWith(this.root)) {
      try {
        await rmdir(dir);
      } catch {
        return;
      }
      dir = dirname(dir);
    }
  }

  private pathOf(key: string): string {
    assertValidKey(key);
    // A temp-named segment would be hidden from list, breaking read-after-write for that key.
    if (key.split('/').some((part) => part.startsWith(TEMP_PREFIX))) {
      throw new StoreError(`invalid object key ${JSON.stringify(key)}: segments starting with ${TEMP_PREFIX} are reserved`, key);
    }
    return join(this.root, ...key.split('/'));
  }

  private translate(err: unknown, op: string, key: string): Error {
    return fsErrorToStoreError(err, op, key, this.description);
  }
}

/** Maps a Node fs error to the port's typed errors; typed errors pass through. Exported for tests. */
export function fsErrorToStoreError(err: unknown, op: string, key: string, where: string): Error {
  if (err instanceof CloudkeepError) return err;
  const code = codeOf(err);
  if (op !== 'put' && op !== 'list' && code !== undefined && NOT_FOUND_CODES.has(code)) {
    return new ObjectNotFoundError(key, { cause: err });
  }
  const detail = err instanceof Error ? err.message : String(err);
  return new StoreError(`${op} ${key} in ${where} failed: ${detail}`, key, {
    cause: err,
    retryable: code !== undefined && RETRYABLE_CODES.has(code),
  });
}

function isKeySegment(name: string): boolean {
  return name !== '.' && name !== '..' && /^[A-Za-z0-9._-]+$/.test(name);
}

function codeOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function checkRange(key: string, offset: number, length: number, size: number): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
    throw new StoreError(`invalid range for ${key}: offset ${offset}, length ${length}`, key);
  }
  if (offset + length > size) {
    throw new StoreError(`range past end of ${key}: offset ${offset} + length ${length} > size ${size}`, key);
  }
}
