// An object written to its temp file as the writer makes it (FileObjectStore.beginUpload): pieces
// that are whole blocks of page-aligned memory go out with O_DIRECT, anything else through the page
// cache; commit puts the file in place as a put would.
import { open, type FileHandle } from 'node:fs/promises';
import type { ObjectUpload } from '../../core/store/object-store.ts';
import { alignUp, DIRECT_ALIGN, isAligned } from '../../core/util/aligned-buffer.ts';
import { writeFully } from './image-files.ts';

/** A temp file made for one object, and how to put it in place or throw it away. */
export interface TempFile {
  path: string;
  file: { handle: FileHandle; direct: boolean };
  commit(): Promise<void>;
  discard(): Promise<void>;
}

export class FileUpload implements ObjectUpload {
  readonly #temp: TempFile;
  readonly #translate: (err: unknown) => unknown;
  /** Where the next piece goes. */
  #at = 0;
  /** A second, buffered descriptor for pieces that cannot go direct (opened when first needed). */
  #buffered: Promise<FileHandle> | null = null;
  #ended = false;

  constructor(temp: TempFile, translate: (err: unknown) => unknown) {
    this.#temp = temp;
    this.#translate = translate;
  }

  async append(data: Uint8Array): Promise<void> {
    await this.#piece(data, false);
  }

  async commit(last: Uint8Array): Promise<void> {
    await this.#piece(last, true);
    this.#ended = true;
    await this.#temp.commit();
  }

  /** Writes the next piece at the end; a failure aborts the upload. */
  async #piece(data: Uint8Array, last: boolean): Promise<void> {
    if (this.#ended) throw new Error('upload already committed or aborted: expected no more pieces');
    const at = this.#at;
    this.#at += data.length;
    try {
      await this.#write(data, at, last);
      if (last) await this.#closeBuffered();
    } catch (err) {
      await this.abort();
      throw this.#translate(err);
    }
  }

  async abort(): Promise<void> {
    if (this.#ended) return;
    this.#ended = true;
    await this.#closeBuffered().catch(() => undefined);
    await this.#temp.discard();
  }

  /**
   * Directly when the file allows it and the piece is aligned memory at an aligned offset: whole
   * blocks, or (the last piece) padded from the room after it and the file cut back.
   */
  async #write(data: Uint8Array, at: number, last: boolean): Promise<void> {
    const direct = this.#temp.file.direct && isAligned(data) && at % DIRECT_ALIGN === 0;
    const padded = alignUp(data.length);
    if (direct && data.length % DIRECT_ALIGN === 0) {
      await writeFully(this.#temp.file.handle, data, at);
    } else if (direct && last && data.buffer.byteLength - data.byteOffset >= padded) {
      await writeFully(this.#temp.file.handle, new Uint8Array(data.buffer, data.byteOffset, padded), at);
      await this.#temp.file.handle.truncate(at + data.length);
    } else if (!this.#temp.file.direct) {
      await writeFully(this.#temp.file.handle, data, at);
    } else {
      this.#buffered ??= open(this.#temp.path, 'r+');
      await writeFully(await this.#buffered, data, at);
    }
  }

  async #closeBuffered(): Promise<void> {
    const buffered = this.#buffered;
    this.#buffered = null;
    if (buffered) await (await buffered).close();
  }
}
