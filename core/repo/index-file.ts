// Index objects: map chunk id to pack, offset and length. Append-only; many per repository.
//
// Plaintext (inside a sealed "index" object): packCount u32 | (packId[16] | sessionSalt[16])*
//   | entryCount u32 | (id[32] | packIdx u32 | offset u32 | length u32 | rawLength u32 | flags u8 | kind u8)*
import { CorruptObjectError } from '../errors.ts';
import { CHUNK_ID_LENGTH } from './block-codec.ts';
import { IdTable } from './id-table.ts';
import { releaseBuffer } from '../util/release-buffer.ts';

export interface PackRef {
  /** 32 hex characters. */
  id: string;
  salt: Buffer;
}

export interface IndexEntry {
  pack: PackRef;
  offset: number;
  length: number;
  rawLength: number;
  flags: number;
  kind: number;
}

export interface IndexedChunk extends IndexEntry {
  id: Buffer;
}

const ENTRY = CHUNK_ID_LENGTH + 18;

export function encodeIndex(chunks: IndexedChunk[]): Buffer {
  const part = new IndexPart(chunks.length);
  for (const c of chunks) part.add(c.pack, c.id, c.offset, c.length, c.rawLength, c.flags, c.kind);
  return part.encode();
}

/**
 * The entries of one index object as they are added, already in their encoded form (no object
 * per chunk): a backup notes each stored chunk here once its pack is written.
 */
export class IndexPart {
  readonly #packs: PackRef[] = [];
  readonly #packNumbers = new Map<string, number>();
  #entries: Buffer;
  #count = 0;
  constructor(capacity = 1024) {
    this.#entries = Buffer.allocUnsafeSlow(Math.max(1, capacity) * ENTRY);
  }
  get count(): number {
    return this.#count;
  }
  add(pack: PackRef, id: Uint8Array, offset: number, length: number, rawLength: number, flags: number, kind: number): void {
    let p = this.#packNumbers.get(pack.id);
    if (p === undefined) {
      p = this.#packs.push(pack) - 1;
      this.#packNumbers.set(pack.id, p);
    }
    if ((this.#count + 1) * ENTRY > this.#entries.length) {
      const grown = Buffer.allocUnsafeSlow(this.#entries.length * 2);
      this.#entries.copy(grown, 0, 0, this.#count * ENTRY);
      releaseBuffer(this.#entries);
      this.#entries = grown;
    }
    const out = this.#entries;
    const o = this.#count++ * ENTRY;
    out.set(id.subarray(0, CHUNK_ID_LENGTH), o);
    out.writeUInt32LE(p, o + 32);
    out.writeUInt32LE(offset, o + 36);
    out.writeUInt32LE(length, o + 40);
    out.writeUInt32LE(rawLength, o + 44);
    out[o + 48] = flags;
    out[o + 49] = kind;
  }
  /** The index object's plaintext (layout at the top of this file). */
  encode(): Buffer {
    const packList = this.#packs;
    const out = Buffer.allocUnsafe(8 + packList.length * 32 + this.#count * ENTRY);
    let o = out.writeUInt32LE(packList.length, 0);
    for (const p of packList) {
      out.write(p.id, o, 'hex');
      p.salt.copy(out, o + 16);
      o += 32;
    }
    o = out.writeUInt32LE(this.#count, o);
    this.#entries.copy(out, o, 0, this.#count * ENTRY);
    return out;
  }
}

/** The pack table of an encoded index and where its entries start; checks the sizes add up. */
function indexLayout(buf: Buffer, objectKey: string): { packs: PackRef[]; count: number; at: number } {
  const fail = (why: string): never => {
    throw new CorruptObjectError(objectKey, why);
  };
  if (buf.length < 8) fail('index too short');
  const packCount = buf.readUInt32LE(0);
  const packs: PackRef[] = [];
  let o = 4;
  if (buf.length < o + packCount * 32 + 4) fail('index pack table truncated');
  for (let i = 0; i < packCount; i++, o += 32) {
    packs.push({ id: buf.toString('hex', o, o + 16), salt: Buffer.from(buf.subarray(o + 16, o + 32)) });
  }
  const count = buf.readUInt32LE(o);
  o += 4;
  if (buf.length !== o + count * ENTRY) fail(`index of ${buf.length} bytes does not hold ${count} entries`);
  return { packs, count, at: o };
}

/** The pack number of entry i at byte o of an encoded index, checked against the pack table. */
function packNumber(buf: Buffer, o: number, i: number, packs: number, objectKey: string): number {
  const packIdx = buf.readUInt32LE(o + 32);
  if (packIdx >= packs) throw new CorruptObjectError(objectKey, `entry ${i} names pack ${packIdx} of ${packs}`);
  return packIdx;
}

export function decodeIndex(buf: Buffer, objectKey: string): IndexedChunk[] {
  const { packs, count, at } = indexLayout(buf, objectKey);
  const out: IndexedChunk[] = [];
  for (let i = 0, o = at; i < count; i++, o += ENTRY) {
    out.push({
      id: Buffer.from(buf.subarray(o, o + 32)),
      pack: packs[packNumber(buf, o, i, packs.length, objectKey)],
      offset: buf.readUInt32LE(o + 36),
      length: buf.readUInt32LE(o + 40),
      rawLength: buf.readUInt32LE(o + 44),
      flags: buf[o + 48],
      kind: buf[o + 49],
    });
  }
  return out;
}

/** Per entry in ChunkIndex's field table: pack number, offset, length, raw length, flags | kind << 8. */
const FIELDS = 5;

/**
 * The in-memory view of all index objects: chunk id to location. Entries live in flat typed arrays
 * (ids back to back, fields five to an entry) found through an open-addressing table, about 60
 * bytes an entry: a Map of objects cost ~10x the memory and most of the time of loading an index.
 */
export class ChunkIndex {
  /** Packs pending deletion: a copy of a chunk elsewhere is preferred, and `exclude` drops them. */
  readonly #marked: Set<string>;
  readonly #exclude: boolean;
  readonly #packs: PackRef[] = [];
  readonly #packNumbers = new Map<string, number>();
  readonly #ids = new IdTable();
  #fields = new Uint32Array(0);
  constructor(options: { marked?: Set<string>; exclude?: boolean } = {}) {
    this.#marked = options.marked ?? new Set();
    this.#exclude = options.exclude ?? false;
  }
  /** Index objects loaded, and which packs each names. */
  readonly objects = new Map<string, Set<string>>();

  get size(): number {
    return this.#ids.size;
  }
  static keyOf(id: Uint8Array): string {
    return Buffer.from(id.buffer, id.byteOffset, id.byteLength).toString('latin1');
  }
  has(id: Uint8Array): boolean {
    return this.#ids.find(id, 0) >= 0;
  }
  get(id: Uint8Array): IndexEntry | undefined {
    const e = this.#ids.find(id, 0);
    return e < 0 ? undefined : this.#entry(e);
  }
  add(indexKey: string, chunks: IndexedChunk[]): void {
    const packs = new Set<string>();
    this.#reserve(chunks.length);
    for (const c of chunks) {
      packs.add(c.pack.id);
      this.#put(c.id, 0, c.pack, c.offset, c.length, c.rawLength, c.flags, c.kind);
    }
    this.objects.set(indexKey, packs);
  }
  /** Adds an index object's plaintext as encodeIndex wrote it, without decoding it into objects. */
  addEncoded(indexKey: string, buf: Buffer): void {
    const { packs, count, at } = indexLayout(buf, indexKey);
    // Checked whole before any entry goes in: a damaged object adds nothing.
    for (let i = 0, o = at; i < count; i++, o += ENTRY) packNumber(buf, o, i, packs.length, indexKey);
    this.#reserve(count);
    const named = new Set<string>();
    for (let i = 0, o = at; i < count; i++, o += ENTRY) {
      const pack = packs[buf.readUInt32LE(o + 32)];
      named.add(pack.id);
      this.#put(buf, o, pack, buf.readUInt32LE(o + 36), buf.readUInt32LE(o + 40), buf.readUInt32LE(o + 44), buf[o + 48], buf[o + 49]);
    }
    this.objects.set(indexKey, named);
  }
  *entries(): IterableIterator<[Buffer, IndexEntry]> {
    for (let e = 0; e < this.#ids.size; e++) yield [Buffer.from(this.#ids.view(e)), this.#entry(e)];
  }
  /**
   * Visits every entry without building it: its pack, offset and length, and its id as a view of
   * the index's own memory (valid until the next add; copy it to keep it).
   */
  forEachEntry(fn: (pack: PackRef, offset: number, length: number, id: Buffer) => void): void {
    const f = this.#fields;
    for (let e = 0, o = 0; e < this.#ids.size; e++, o += FIELDS) fn(this.#packs[f[o]], f[o + 1], f[o + 2], this.#ids.view(e));
  }

  #entry(e: number): IndexEntry {
    const f = this.#fields;
    const o = e * FIELDS;
    return { pack: this.#packs[f[o]], offset: f[o + 1], length: f[o + 2], rawLength: f[o + 3], flags: f[o + 4] & 0xff, kind: f[o + 4] >>> 8 };
  }

  #put(src: Uint8Array, at: number, pack: PackRef, offset: number, length: number, rawLength: number, flags: number, kind: number): void {
    if (this.#exclude && this.#marked.has(pack.id)) return;
    let e = this.#ids.find(src, at);
    if (e >= 0) {
      // A second copy replaces the first only when that one is in a pack pending deletion.
      if (!this.#marked.has(this.#packs[this.#fields[e * FIELDS]].id) || this.#marked.has(pack.id)) return;
    } else {
      e = this.#ids.insert(src, at);
      this.#reserve(0);
    }
    let p = this.#packNumbers.get(pack.id);
    if (p === undefined) {
      p = this.#packs.push(pack) - 1;
      this.#packNumbers.set(pack.id, p);
    }
    const f = this.#fields;
    const o = e * FIELDS;
    f[o] = p;
    f[o + 1] = offset;
    f[o + 2] = length;
    f[o + 3] = rawLength;
    f[o + 4] = flags | (kind << 8);
  }

  /** Room for `more` entries: the ids' table grows, and the fields with it. */
  #reserve(more: number): void {
    this.#ids.reserve(more);
    const need = this.#ids.capacity * FIELDS;
    if (this.#fields.length >= need) return;
    const fields = new Uint32Array(need);
    fields.set(this.#fields.subarray(0, this.#ids.size * FIELDS));
    this.#fields = fields;
  }
}
