// Index objects: map chunk id to pack, offset and length. Append-only; many per repository.
//
// Plaintext (inside a sealed "index" object): packCount u32 | (packId[16] | sessionSalt[16])*
//   | entryCount u32 | (id[32] | packIdx u32 | offset u32 | length u32 | rawLength u32 | flags u8 | kind u8)*
import { CorruptObjectError } from '../errors.ts';
import { CHUNK_ID_LENGTH } from './block-codec.ts';

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
  const packs = new Map<string, number>();
  const packList: PackRef[] = [];
  for (const c of chunks) {
    if (!packs.has(c.pack.id)) {
      packs.set(c.pack.id, packList.length);
      packList.push(c.pack);
    }
  }
  const out = Buffer.alloc(8 + packList.length * 32 + chunks.length * ENTRY);
  let o = 0;
  out.writeUInt32LE(packList.length, o);
  o += 4;
  for (const p of packList) {
    out.write(p.id, o, 'hex');
    p.salt.copy(out, o + 16);
    o += 32;
  }
  out.writeUInt32LE(chunks.length, o);
  o += 4;
  for (const c of chunks) {
    c.id.copy(out, o);
    out.writeUInt32LE(packs.get(c.pack.id)!, o + 32);
    out.writeUInt32LE(c.offset, o + 36);
    out.writeUInt32LE(c.length, o + 40);
    out.writeUInt32LE(c.rawLength, o + 44);
    out[o + 48] = c.flags;
    out[o + 49] = c.kind;
    o += ENTRY;
  }
  return out;
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
  #count = 0;
  #ids = Buffer.alloc(0);
  #fields = new Uint32Array(0);
  /** Entry number + 1 per slot, 0 when empty; a power of two, at most half full. */
  #table = new Int32Array(0);
  constructor(options: { marked?: Set<string>; exclude?: boolean } = {}) {
    this.#marked = options.marked ?? new Set();
    this.#exclude = options.exclude ?? false;
  }
  /** Index objects loaded, and which packs each names. */
  readonly objects = new Map<string, Set<string>>();

  get size(): number {
    return this.#count;
  }
  static keyOf(id: Uint8Array): string {
    return Buffer.from(id.buffer, id.byteOffset, id.byteLength).toString('latin1');
  }
  has(id: Uint8Array): boolean {
    return this.#find(id, 0) >= 0;
  }
  get(id: Uint8Array): IndexEntry | undefined {
    const e = this.#find(id, 0);
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
    for (let e = 0; e < this.#count; e++) yield [Buffer.from(this.#idView(e)), this.#entry(e)];
  }
  /**
   * Visits every entry without building it: its pack, offset and length, and its id as a view of
   * the index's own memory (valid until the next add; copy it to keep it).
   */
  forEachEntry(fn: (pack: PackRef, offset: number, length: number, id: Buffer) => void): void {
    const f = this.#fields;
    for (let e = 0, o = 0; e < this.#count; e++, o += FIELDS) fn(this.#packs[f[o]], f[o + 1], f[o + 2], this.#idView(e));
  }

  #idView(e: number): Buffer {
    return this.#ids.subarray(e * CHUNK_ID_LENGTH, (e + 1) * CHUNK_ID_LENGTH);
  }

  #entry(e: number): IndexEntry {
    const f = this.#fields;
    const o = e * FIELDS;
    return { pack: this.#packs[f[o]], offset: f[o + 1], length: f[o + 2], rawLength: f[o + 3], flags: f[o + 4] & 0xff, kind: f[o + 4] >>> 8 };
  }

  /** The entry of the 32-byte id at src[at...], or -1. */
  #find(src: Uint8Array, at: number): number {
    if (this.#count === 0 || src.length - at < CHUNK_ID_LENGTH) return -1;
    const mask = this.#table.length - 1;
    const ids = this.#ids;
    for (let slot = slotOf(src, at) & mask; ; slot = (slot + 1) & mask) {
      const v = this.#table[slot];
      if (v === 0) return -1;
      const o = (v - 1) * CHUNK_ID_LENGTH;
      if (ids.compare(src, at, at + CHUNK_ID_LENGTH, o, o + CHUNK_ID_LENGTH) === 0) return v - 1;
    }
  }

  #put(src: Uint8Array, at: number, pack: PackRef, offset: number, length: number, rawLength: number, flags: number, kind: number): void {
    if (this.#exclude && this.#marked.has(pack.id)) return;
    let e = this.#find(src, at);
    if (e >= 0) {
      // A second copy replaces the first only when that one is in a pack pending deletion.
      if (!this.#marked.has(this.#packs[this.#fields[e * FIELDS]].id) || this.#marked.has(pack.id)) return;
    } else {
      this.#reserve(1);
      e = this.#count++;
      this.#ids.set(src.subarray(at, at + CHUNK_ID_LENGTH), e * CHUNK_ID_LENGTH);
      this.#slot(e);
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

  /** Places entry e in the table (its id is stored already). */
  #slot(e: number): void {
    const mask = this.#table.length - 1;
    let slot = slotOf(this.#ids, e * CHUNK_ID_LENGTH) & mask;
    while (this.#table[slot] !== 0) slot = (slot + 1) & mask;
    this.#table[slot] = e + 1;
  }

  /** Room for `more` entries: arrays grown by doubling, the table rebuilt at twice their capacity. */
  #reserve(more: number): void {
    const need = this.#count + more;
    const capacity = this.#fields.length / FIELDS;
    if (need <= capacity) return;
    let grown = Math.max(1024, capacity);
    while (grown < need) grown *= 2;
    const ids = Buffer.alloc(grown * CHUNK_ID_LENGTH);
    this.#ids.copy(ids, 0, 0, this.#count * CHUNK_ID_LENGTH);
    const fields = new Uint32Array(grown * FIELDS);
    fields.set(this.#fields.subarray(0, this.#count * FIELDS));
    this.#ids = ids;
    this.#fields = fields;
    this.#table = new Int32Array(grown * 2);
    for (let e = 0; e < this.#count; e++) this.#slot(e);
  }
}

/** Table position of the id at src[at...]: its first eight bytes, mixed (ids are keyed hashes, but tests may use plain ones). */
function slotOf(src: Uint8Array, at: number): number {
  const a = src[at] | (src[at + 1] << 8) | (src[at + 2] << 16) | (src[at + 3] << 24);
  const b = src[at + 4] | (src[at + 5] << 8) | (src[at + 6] << 16) | (src[at + 7] << 24);
  return (Math.imul(a ^ Math.imul(b, 0x9e3779b1), 0x85ebca6b) ^ (b >>> 13)) >>> 0;
}
