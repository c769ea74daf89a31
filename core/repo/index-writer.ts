// Index objects of one backup session, written as they fill: a part of at most `maxEntries` chunks
// is sealed and put once that many chunks are in written packs, the rest at flush. A session never
// holds more than one part's entries, and no single large object is encoded at the end.
import type { BusyTimer } from '../engine/stage-timer.ts';
import type { IoOptions } from '../store/object-store.ts';
import { IndexPart, type PackRef } from './index-file.ts';
import type { PackEntry } from './pack.ts';
import type { Repository } from './repository.ts';

/** Entries per index object: 16,384 x 50 bytes = 800 KiB of plaintext. */
export const INDEX_PART_ENTRIES = 16_384;

export class IndexWriter {
  readonly #repo: Repository;
  readonly #max: number;
  readonly #timer: BusyTimer | undefined;
  readonly #io: IoOptions;
  readonly #pending = new Set<Promise<void>>();
  #part: IndexPart;
  #error: unknown = undefined;
  /** Index objects put so far, and the chunks they name. */
  objectsWritten = 0;
  chunks = 0;

  constructor(repo: Repository, options: IoOptions & { maxEntries?: number; timer?: BusyTimer } = {}) {
    this.#repo = repo;
    this.#max = options.maxEntries ?? INDEX_PART_ENTRIES;
    this.#timer = options.timer;
    this.#io = { signal: options.signal };
    this.#part = new IndexPart(Math.min(this.#max, 4096));
  }

  /** Notes the chunks of a written pack; a full part goes out in the background. Throws once a put has failed (the backup stops early). */
  add(pack: PackRef, entries: PackEntry[]): void {
    if (this.#error !== undefined) throw this.#error;
    for (const e of entries) {
      this.#part.add(pack, e.id, e.offset, e.length, e.rawLength, e.flags, e.kind);
      this.chunks++;
      if (this.#part.count >= this.#max) this.#put();
    }
  }

  #put(): void {
    const part = this.#part;
    this.#part = new IndexPart(Math.min(this.#max, 4096));
    if (part.count === 0) return;
    const put = () => this.#repo.writeIndexObject(part.encode(), this.#io);
    const pending = (this.#timer ? this.#timer.time(put) : put()).then(
      () => void this.objectsWritten++,
      (err: unknown) => void (this.#error ??= err),
    );
    this.#pending.add(pending);
    void pending.finally(() => this.#pending.delete(pending));
  }

  /** Puts the open part and waits for every put; throws the first failure. */
  async flush(): Promise<void> {
    this.#put();
    while (this.#pending.size > 0) await Promise.all([...this.#pending]);
    if (this.#error !== undefined) throw this.#error;
  }
}
