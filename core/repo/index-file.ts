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

export function decodeIndex(buf: Buffer, objectKey: string): IndexedChunk[] {
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
  const out: IndexedChunk[] = [];
  for (let i = 0; i < count; i++, o += ENTRY) {
    const packIdx = buf.readUInt32LE(o + 32);
    if (packIdx >= packs.length) fail(`entry ${i} names pack ${packIdx} of ${packs.length}`);
    out.push({
      id: Buffer.from(buf.subarray(o, o + 32)),
      pack: packs[packIdx],
      offset: buf.readUInt32LE(o + 36),
      length: buf.readUInt32LE(o + 40),
      rawLength: buf.readUInt32LE(o + 44),
      flags: buf[o + 48],
      kind: buf[o + 49],
    });
  }
  return out;
}

/** The in-memory view of all index objects: chunk id to location. */
export class ChunkIndex {
  readonly #entries = new Map<string, IndexEntry>();
  /** Packs pending deletion: a copy of a chunk elsewhere is preferred, and `exclude` drops them. */
  readonly #marked: Set<string>;
  readonly #exclude: boolean;
  constructor(options: { marked?: Set<string>; exclude?: boolean } = {}) {
    this.#marked = options.marked ?? new Set();
    this.#exclude = options.exclude ?? false;
  }
  /** Index objects loaded, and which packs each names. */
  readonly objects = new Map<string, Set<string>>();

  get size(): number {
    return this.#entries.size;
  }
  static keyOf(id: Uint8Array): string {
    return Buffer.from(id.buffer, id.byteOffset, id.byteLength).toString('latin1');
  }
  has(id: Uint8Array): boolean {
    return this.#entries.has(ChunkIndex.keyOf(id));
  }
  get(id: Uint8Array): IndexEntry | undefined {
    return this.#entries.get(ChunkIndex.keyOf(id));
  }
  add(indexKey: string, chunks: IndexedChunk[]): void {
    const packs = new Set<string>();
    for (const c of chunks) {
      packs.add(c.pack.id);
      if (this.#exclude && this.#marked.has(c.pack.id)) continue;
      const key = ChunkIndex.keyOf(c.id);
      const seen = this.#entries.get(key);
      if (!seen || (this.#marked.has(seen.pack.id) && !this.#marked.has(c.pack.id))) this.#entries.set(key, c);
    }
    this.objects.set(indexKey, packs);
  }
  *entries(): IterableIterator<[Buffer, IndexEntry]> {
    for (const [k, v] of this.#entries) yield [Buffer.from(k, 'latin1'), v];
  }
}
