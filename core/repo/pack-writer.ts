// Appends sealed chunks into packs of the target size and uploads them with bounded concurrency.
import { randomBytes } from 'node:crypto';
import type { IoOptions } from '../store/object-store.ts';
import type { BusyTimer } from '../engine/stage-timer.ts';
import { Semaphore } from '../util/concurrency.ts';
import type { SealedChunk } from './block-codec.ts';
import type { IndexedChunk, PackRef } from './index-file.ts';
import { packKey, randomName } from './layout.ts';
import { PACK_HEADER_LENGTH, packDataKey, packHeader, packTrailer, type PackEntry } from './pack.ts';
import type { Repository } from './repository.ts';

export class PackWriter {
  readonly salt = randomBytes(16);
  readonly key: Buffer;
  readonly #repo: Repository;
  readonly #uploads: Semaphore;
  readonly #timer: BusyTimer | undefined;
  readonly #options: IoOptions;
  readonly #pending = new Set<Promise<void>>();
  #parts: Buffer[] = [];
  #entries: PackEntry[] = [];
  #size = 0;
  #error: unknown = undefined;
  readonly written: IndexedChunk[] = [];
  packsWritten = 0;
  bytesWritten = 0;

  constructor(repo: Repository, options: IoOptions & { uploadConcurrency?: number; timer?: BusyTimer } = {}) {
    this.#repo = repo;
    this.key = packDataKey(repo.master, this.salt);
    this.#uploads = new Semaphore(options.uploadConcurrency ?? 3);
    this.#timer = options.timer;
    this.#options = { signal: options.signal };
  }

  /** Adds a chunk; waits when too many packs are uploading (back-pressure bounds memory). */
  async add(id: Buffer, kind: number, chunk: SealedChunk): Promise<void> {
    if (this.#error !== undefined) throw this.#error;
    if (this.#parts.length === 0) {
      this.#parts.push(packHeader(this.salt));
      this.#size = PACK_HEADER_LENGTH;
    }
    this.#entries.push({ id, offset: this.#size, length: chunk.sealed.length, rawLength: chunk.rawLength, flags: chunk.flags, kind });
    this.#parts.push(chunk.sealed);
    this.#size += chunk.sealed.length;
    if (this.#size >= this.#repo.params.packTargetSize) await this.#seal();
  }

  async #seal(): Promise<void> {
    if (this.#entries.length === 0) return;
    const packId = randomName();
    const entries = this.#entries;
    const body = Buffer.concat([...this.#parts, packTrailer(this.key, packId, entries)]);
    this.#parts = [];
    this.#entries = [];
    this.#size = 0;
    await this.#uploads.acquire();
    const ref: PackRef = { id: packId, salt: this.salt };
    const upload = (async () => {
      try {
        const put = () => this.#repo.store.put(packKey(packId), body, { ...this.#options, kind: 'pack' });
        await (this.#timer ? this.#timer.time(put) : put());
        for (const e of entries) this.written.push({ ...e, pack: ref });
        this.packsWritten++;
        this.bytesWritten += body.length;
      } catch (err) {
        this.#error ??= err;
      } finally {
        this.#uploads.release();
      }
    })();
    this.#pending.add(upload);
    void upload.finally(() => this.#pending.delete(upload));
  }

  /** Seals the open pack and waits for every upload; throws the first upload error. */
  async flush(): Promise<IndexedChunk[]> {
    await this.#seal();
    while (this.#pending.size > 0) await Promise.all([...this.#pending]);
    if (this.#error !== undefined) throw this.#error;
    return this.written;
  }
}
