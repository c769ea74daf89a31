// Packs written through a store's upload as they fill (ObjectStore.beginUpload), for stores that
// take objects in pieces (a local disk): chunks are copied into one of two page-aligned stages, and
// a full stage goes to the store while the other fills. A pack of any size so needs two stages of
// memory (~12 MiB) instead of itself (two 33 MiB pack buffers at the default size).
import type { BusyTimer } from '../engine/stage-timer.ts';
import type { ObjectStore, ObjectUpload, PutOptions } from '../store/object-store.ts';
import { allocAligned, DIRECT_ALIGN } from '../util/aligned-buffer.ts';
import type { SealedChunk } from './block-codec.ts';
import type { PackRef } from './index-file.ts';
import { packKey, randomName } from './layout.ts';
import { packHeader, packTrailer, type PackEntry } from './pack.ts';

/** Bytes a stage collects before it is written out. */
const STAGE = 4 * 1024 * 1024;
/** Room past STAGE, so a chunk that starts before STAGE always fits whole (larger ones take the slow path). */
const ROOM = 2 * 1024 * 1024;

export interface PackStreamOptions {
  key: Buffer;
  salt: Buffer;
  target: number;
  kind: 'pack' | 'tree-pack';
  put: PutOptions;
  timer?: BusyTimer;
  /** A pack was committed: its entries, reference and size. */
  onWritten(entries: PackEntry[], ref: PackRef, size: number): void;
}

interface OpenPack {
  packId: string;
  upload: ObjectUpload;
  entries: PackEntry[];
  size: number;
}

export class PackStream {
  readonly #store: ObjectStore;
  readonly #o: PackStreamOptions;
  readonly #stages: [Buffer, Buffer];
  /** What each stage's bytes are waiting for (an append or the commit); never rejects. */
  readonly #busy: [Promise<void>, Promise<void>] = [Promise.resolve(), Promise.resolve()];
  #current: 0 | 1 = 0;
  #fill = 0;
  #pack: OpenPack | null = null;
  /** Set while a stage turns over or a pack opens or ends: adds wait, in the order they came. */
  #blocked: Promise<void> | null = null;
  #error: unknown = undefined;
  /** The store gave no upload: the caller writes whole packs instead. */
  unsupported = false;

  constructor(store: ObjectStore, options: PackStreamOptions) {
    this.#store = store;
    this.#o = options;
    this.#stages = [allocAligned(STAGE + ROOM), allocAligned(STAGE + ROOM)];
  }

  /** Adds a chunk; false when the store takes no uploads (nothing was added). */
  async add(id: Buffer, kind: number, chunk: SealedChunk): Promise<boolean> {
    for (;;) {
      if (this.#error !== undefined) throw this.#error;
      if (this.unsupported) return false;
      if (this.#blocked) await this.#blocked;
      else if (!this.#pack) await this.#block(() => this.#open());
      else break;
    }
    const pack = this.#pack!;
    const data = chunk.sealed;
    pack.entries.push({ id, offset: pack.size, length: data.length, rawLength: chunk.rawLength, flags: chunk.flags, kind });
    pack.size += data.length;
    if (this.#fill + data.length <= STAGE + ROOM) {
      // The common case, synchronous: concurrent adds keep the order of their offsets.
      this.#stages[this.#current].set(data, this.#fill);
      this.#fill += data.length;
      if (pack.size >= this.#o.target) await this.#block(() => this.#end());
      else if (this.#fill >= STAGE) await this.#block(() => this.#turn());
    } else {
      await this.#block(() => this.#copy(data));
      if (pack.size >= this.#o.target) await this.#block(() => this.#end());
    }
    return true;
  }

  /** Ends the open pack and waits for every write; throws the first failure. */
  async flush(): Promise<void> {
    while (this.#blocked) await this.#blocked;
    if (this.#pack && this.#error === undefined) await this.#block(() => this.#end());
    await Promise.all(this.#busy);
    if (this.#error !== undefined) throw this.#error;
  }

  /** Runs `work` while later adds wait; a failure becomes the stream's error. */
  #block(work: () => Promise<void>): Promise<void> {
    const done: Promise<void> = work()
      .catch((err: unknown) => this.#fail(err))
      .finally(() => {
        if (this.#blocked === done) this.#blocked = null;
      });
    this.#blocked = done;
    return done;
  }

  async #open(): Promise<void> {
    const packId = randomName();
    const upload = await this.#time(async () => (await this.#store.beginUpload?.(packKey(packId), { ...this.#o.put, kind: this.#o.kind })) ?? null);
    if (!upload) {
      this.unsupported = true;
      return;
    }
    this.#pack = { packId, upload, entries: [], size: 0 };
    await this.#copy(packHeader(this.#o.salt));
    this.#pack.size = this.#fill;
  }

  /** Copies bytes that may not fit the stage at once, turning stages over as they fill. */
  async #copy(data: Uint8Array): Promise<void> {
    for (let at = 0; at < data.length; ) {
      const n = Math.min(data.length - at, STAGE + ROOM - this.#fill);
      this.#stages[this.#current].set(data.subarray(at, at + n), this.#fill);
      this.#fill += n;
      at += n;
      if (this.#fill >= STAGE) await this.#turn();
    }
  }

  /** Sends the current stage's whole blocks to the store and goes on in the other stage (once it is free), carrying the rest over. */
  async #turn(): Promise<void> {
    const upload = this.#pack!.upload;
    const current = this.#current;
    const other = current === 0 ? 1 : 0;
    await this.#busy[other];
    if (this.#error !== undefined) throw this.#error;
    const stage = this.#stages[current];
    const out = this.#fill - (this.#fill % DIRECT_ALIGN);
    this.#stages[other].set(stage.subarray(out, this.#fill), 0);
    this.#busy[current] = this.#time(() => upload.append(stage.subarray(0, out))).catch((err: unknown) => this.#fail(err));
    this.#current = other;
    this.#fill -= out;
  }

  /** Appends the trailer and commits the pack once its earlier pieces are written; the next pack starts in the other stage. */
  async #end(): Promise<void> {
    const pack = this.#pack!;
    const trailer = packTrailer(this.#o.key, pack.packId, pack.entries);
    await this.#copy(trailer);
    this.#pack = null;
    const current = this.#current;
    const other = current === 0 ? 1 : 0;
    // Every earlier piece is on its way in the other stage: the object must be whole before it is renamed into place.
    await this.#busy[other];
    if (this.#error !== undefined) {
      await pack.upload.abort().catch(() => undefined);
      throw this.#error;
    }
    const size = pack.size + trailer.length;
    const last = this.#stages[current].subarray(0, this.#fill);
    const ref: PackRef = { id: pack.packId, salt: this.#o.salt };
    this.#busy[current] = this.#time(() => pack.upload.commit(last))
      .then(() => this.#o.onWritten(pack.entries, ref, size))
      .catch((err: unknown) => this.#fail(err));
    this.#current = other;
    this.#fill = 0;
  }

  #fail(err: unknown): void {
    this.#error ??= err;
    const open = this.#pack;
    this.#pack = null;
    void open?.upload.abort().catch(() => undefined);
  }

  #time<T>(fn: () => Promise<T>): Promise<T> {
    return this.#o.timer ? this.#o.timer.time(fn) : fn();
  }
}
