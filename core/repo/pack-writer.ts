// Appends sealed chunks into packs of the target size: streamed to stores that take uploads
// (PackStream), else built whole in a buffer and put, with bounded concurrency.
import { randomBytes } from 'node:crypto';
import type { IoOptions, ObjectStore, PlacementHint, PutOptions } from '../store/object-store.ts';
import type { BusyTimer } from '../engine/stage-timer.ts';
import { allocAligned } from '../util/aligned-buffer.ts';
import { Semaphore } from '../util/concurrency.ts';
import type { SealedChunk } from './block-codec.ts';
import type { PackRef } from './index-file.ts';
import { packKey, randomName } from './layout.ts';
import { PACK_HEADER_LENGTH, packDataKey, packHeader, packTrailer, type PackEntry } from './pack.ts';
import { PackStream } from './pack-stream.ts';
import type { Repository } from './repository.ts';

/** Packs of at least this target size are streamed to stores that take uploads (PackStream). */
const STREAM_MIN = 16 * 1024 * 1024;

/** Where a pack writer reports the chunks of each pack it wrote (see IndexWriter). */
export interface PackIndexSink {
  add(pack: PackRef, entries: PackEntry[]): void;
}

export class PackWriter {
  readonly salt = randomBytes(16);
  readonly key: Buffer;
  readonly #repo: Repository;
  readonly #store: ObjectStore;
  readonly #uploads: Semaphore;
  readonly #timer: BusyTimer | undefined;
  readonly #options: PutOptions;
  readonly #pending = new Set<Promise<void>>();
  #buffer: Buffer | null = null;
  /** The pack buffer back from the last finished upload, reused: a fresh 32 MiB buffer costs page faults and GC. */
  #spare: Buffer | null = null;
  #entries: PackEntry[] = [];
  #size = 0;
  #error: unknown = undefined;
  /** Packs written through the store's upload as they fill, when it takes uploads (see PackStream); null: whole packs. */
  #stream: PackStream | null;
  readonly #index: PackIndexSink | undefined;
  packsWritten = 0;
  bytesWritten = 0;

  /** `store` overrides repo.store for the pack uploads, e.g. a task's throttled view of it. */
  /** 'tree-pack' for block and stream maps: stays hot when packs go to a cold tier. */
  readonly kind: 'pack' | 'tree-pack';
  readonly #target: number;

  constructor(
    repo: Repository,
    options: IoOptions & {
      uploadConcurrency?: number;
      timer?: BusyTimer;
      store?: ObjectStore;
      placement?: PlacementHint;
      kind?: 'pack' | 'tree-pack';
      targetSize?: number;
      stream?: boolean;
      /** Told the chunks of each pack once it is written (an IndexWriter). */
      index?: PackIndexSink;
    } = {},
  ) {
    this.#index = options.index;
    this.kind = options.kind ?? 'pack';
    this.#target = options.targetSize ?? repo.params.packTargetSize;
    this.#repo = repo;
    this.#store = options.store ?? repo.store;
    this.key = packDataKey(repo.master, this.salt);
    // One pack uploading while the next fills: at most two pack buffers live (64 MiB at the default
    // size). A second upload in flight bought nothing measurable on a local repository.
    this.#uploads = new Semaphore(options.uploadConcurrency ?? 1);
    this.#timer = options.timer;
    this.#options = { signal: options.signal, placement: options.placement };
    // Small packs (tree packs) cost less whole than two stages.
    const stream = options.stream ?? this.#target >= STREAM_MIN;
    this.#stream =
      stream && typeof this.#store.beginUpload === 'function'
        ? new PackStream(this.#store, {
            key: this.key,
            salt: this.salt,
            target: this.#target,
            kind: this.kind,
            put: this.#options,
            timer: this.#timer,
            onWritten: (entries, ref, size) => this.#wrote(entries, ref, size),
          })
        : null;
  }

  #wrote(entries: PackEntry[], ref: PackRef, size: number): void {
    this.#index?.add(ref, entries);
    this.packsWritten++;
    this.bytesWritten += size;
  }

  /** Adds a chunk; waits when too many packs are uploading (back-pressure bounds memory). */
  async add(id: Buffer, kind: number, chunk: SealedChunk): Promise<void> {
    if (this.#error !== undefined) throw this.#error;
    // A store that gives no upload after all gets whole packs from then on.
    if (this.#stream && !this.#stream.unsupported && (await this.#stream.add(id, kind, chunk))) return;
    const target = this.#target;
    if (this.#buffer && this.#size + chunk.sealed.length > this.#buffer.length) await this.#seal();
    if (!this.#buffer) {
      // One buffer per pack, filled in place: no list of parts and no concatenation copy.
      // Room for the trailer too (about 70 bytes per chunk; 1 MiB covers 32 MiB of 2 KiB chunks), so
      // sealing never copies the pack into a new buffer and the buffer is reused for the next pack.
      // Page-aligned, so a local store can write it with O_DIRECT (core/util/aligned-buffer.ts).
      const need = Math.max(target, PACK_HEADER_LENGTH + chunk.sealed.length) + 1024 * 1024;
      const spare = this.#spare;
      this.#spare = null;
      this.#buffer = spare && spare.length >= need ? spare : allocAligned(need);
      this.#size = packHeader(this.salt).copy(this.#buffer, 0);
    }
    this.#entries.push({ id, offset: this.#size, length: chunk.sealed.length, rawLength: chunk.rawLength, flags: chunk.flags, kind });
    this.#size += chunk.sealed.copy(this.#buffer, this.#size);
    if (this.#size >= target) await this.#seal();
  }

  async #seal(): Promise<void> {
    if (this.#entries.length === 0 || !this.#buffer) return;
    const packId = randomName();
    const entries = this.#entries;
    const trailer = packTrailer(this.key, packId, entries);
    const buffer = this.#buffer;
    const size = this.#size;
    const full = buffer.length >= size + trailer.length ? buffer.subarray(0, size + trailer.copy(buffer, size)) : Buffer.concat([buffer.subarray(0, size), trailer]);
    this.#buffer = null;
    this.#entries = [];
    this.#size = 0;
    await this.#uploads.acquire();
    const ref: PackRef = { id: packId, salt: this.salt };
    const upload = (async () => {
      try {
        const put = () => this.#store.put(packKey(packId), full, { ...this.#options, kind: this.kind });
        await (this.#timer ? this.#timer.time(put) : put());
        this.#wrote(entries, ref, full.length);
        if (full.buffer === buffer.buffer) this.#spare = buffer;
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
  async flush(): Promise<void> {
    await this.#stream?.flush();
    await this.#seal();
    while (this.#pending.size > 0) await Promise.all([...this.#pending]);
    if (this.#error !== undefined) throw this.#error;
  }
}
