// A ControlStore on a local directory for the embedded default: one JSON file per item, replaced by temp-file + rename.
//
// Layout: <root>/<b64(partition)>/<b64(key)>.json, where b64 is base64url of the UTF-8 text, the
// partition is `ACCOUNT#<id>` and the key is the same sort key the DynamoDB adapter uses
// (POLICY#.., SESSION#.., TASK#<session>#<resource>, VOLUME#<region>#<volume>). Encoding keeps
// every id a valid file name (ids hold '/' and ':') and under 255 bytes. A write goes to
// `.tmp-<random>` in the same directory, is fsynced, then renamed over the item, so a reader or
// a crash sees the old or the new item, never a part. Read-modify-write is serialized per item
// inside this process; one process owns a directory (the embedded server), two are not supported.
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { systemClock, type Clock } from '../../core/clock.ts';
import { CloudkeepError, throwIfAborted } from '../../core/errors.ts';
import { ControlStoreError } from '../../core/control/control-errors.ts';
import { KvControlStore, type ControlItemTable } from '../../core/control/kv-control-store.ts';
import type { ControlIoOptions } from '../../core/control/control-store.ts';

const TEMP_PREFIX = '.tmp-';
const SUFFIX = '.json';
const RETRYABLE_CODES = new Set(['EAGAIN', 'EBUSY', 'EMFILE', 'ENFILE', 'EINTR', 'ETIMEDOUT']);

const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64url');
const unb64 = (name: string): string => Buffer.from(name, 'base64url').toString('utf8');
const codeOf = (err: unknown): string | undefined => (err as NodeJS.ErrnoException | undefined)?.code;

function translate(err: unknown, what: string): Error {
  if (err instanceof CloudkeepError) return err;
  const code = codeOf(err);
  return new ControlStoreError(`${what} failed${code ? ` (${code})` : ''}`, { cause: err, retryable: code !== undefined && RETRYABLE_CODES.has(code) });
}

class FileItemTable implements ControlItemTable {
  readonly description: string;
  private readonly root: string;
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(root: string) {
    this.root = resolve(root);
    this.description = pathToFileURL(this.root).href;
  }

  async get(partition: string, key: string, options: ControlIoOptions = {}): Promise<unknown> {
    throwIfAborted(options.signal);
    return this.read(this.pathOf(partition, key));
  }

  async update<T>(partition: string, key: string, change: (current: unknown) => T | undefined, options: ControlIoOptions = {}): Promise<T | undefined> {
    throwIfAborted(options.signal);
    const path = this.pathOf(partition, key);
    return this.serialized(path, async () => {
      throwIfAborted(options.signal);
      const next = change(await this.read(path));
      if (next === undefined) {
        await unlink(path).catch((err: unknown) => {
          if (codeOf(err) !== 'ENOENT') throw translate(err, `delete ${path}`);
        });
        return undefined;
      }
      const text = JSON.stringify(next);
      await this.write(join(this.root, b64(partition)), path, text);
      return JSON.parse(text) as T;
    });
  }

  async keys(partition: string, prefix: string, options: ControlIoOptions = {}): Promise<string[]> {
    throwIfAborted(options.signal);
    let names: string[];
    try {
      names = await readdir(join(this.root, b64(partition)));
    } catch (err) {
      if (codeOf(err) === 'ENOENT') return [];
      throw translate(err, `list ${partition}`);
    }
    return names
      .filter((name) => name.endsWith(SUFFIX) && !name.startsWith(TEMP_PREFIX))
      .map((name) => unb64(name.slice(0, -SUFFIX.length)))
      .filter((key) => key.startsWith(prefix));
  }

  private pathOf(partition: string, key: string): string {
    return join(this.root, b64(partition), `${b64(key)}${SUFFIX}`);
  }

  private async read(path: string): Promise<unknown> {
    try {
      return JSON.parse(await readFile(path, 'utf8'));
    } catch (err) {
      if (codeOf(err) === 'ENOENT') return undefined;
      throw translate(err, `read ${path}`);
    }
  }

  private async write(dir: string, path: string, text: string): Promise<void> {
    const temp = join(dir, `${TEMP_PREFIX}${randomBytes(8).toString('hex')}`);
    try {
      await mkdir(dir, { recursive: true });
      const handle = await open(temp, 'wx');
      try {
        await handle.writeFile(text);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temp, path);
    } catch (err) {
      await unlink(temp).catch(() => undefined);
      throw translate(err, `write ${path}`);
    }
  }

  /** Runs fn after every earlier call on the same path has settled. */
  private async serialized<T>(path: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(path) ?? Promise.resolve();
    const run = previous.then(fn, fn);
    const settled = run.catch(() => undefined);
    this.locks.set(path, settled);
    try {
      return await run;
    } finally {
      if (this.locks.get(path) === settled) this.locks.delete(path);
    }
  }
}

export class FileControlStore extends KvControlStore {
  constructor(root: string, options: { clock?: Clock } = {}) {
    super(new FileItemTable(root), options.clock ?? systemClock);
  }
}
