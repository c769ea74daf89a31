// Read-only file handles shared by the reads in flight on the same file: opened by the first,
// closed when the last one ends, so a pipeline of reads pays one open and close, not one per read,
// and nothing stays open between runs (a deleted snapshot's space is freed at once).
import { open, type FileHandle } from 'node:fs/promises';

interface Entry {
  handle: Promise<FileHandle>;
  users: number;
}

export class SharedReadHandles {
  readonly #open = new Map<string, Entry>();

  /** Runs fn with a read-only handle of `path`, shared with the other calls running on it. */
  async use<T>(path: string, fn: (handle: FileHandle) => Promise<T>): Promise<T> {
    let entry = this.#open.get(path);
    if (!entry) {
      entry = { handle: open(path, 'r'), users: 0 };
      this.#open.set(path, entry);
    }
    entry.users++;
    try {
      return await fn(await entry.handle);
    } finally {
      if (--entry.users === 0) {
        this.#open.delete(path);
        await entry.handle.then((h) => h.close()).catch(() => undefined); // a failed open was reported to its callers
      }
    }
  }

  /** Paths with a handle open now (for tests). */
  get openPaths(): string[] {
    return [...this.#open.keys()];
  }
}
