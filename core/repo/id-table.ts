// A set of 32-byte chunk ids in flat memory: ids back to back, found through an open-addressing
// table. No object per id (a Set of strings or a Map of objects costs ~10x the memory and a
// share of the garbage collector's time); ChunkIndex keeps its entries' fields beside it.
import { CHUNK_ID_LENGTH } from './block-codec.ts';
import { releaseBuffer } from '../util/release-buffer.ts';

export class IdTable {
  #count = 0;
  #ids = Buffer.alloc(0);
  /** Entry number + 1 per slot, 0 when empty; a power of two, at most half full. */
  #table = new Int32Array(0);

  get size(): number {
    return this.#count;
  }
  /** Entries that fit before the next growth. */
  get capacity(): number {
    return this.#ids.length / CHUNK_ID_LENGTH;
  }
  has(id: Uint8Array): boolean {
    return this.find(id, 0) >= 0;
  }
  /** Adds the id; false when it was there already. */
  add(id: Uint8Array): boolean {
    if (this.find(id, 0) >= 0) return false;
    this.insert(id, 0);
    return true;
  }
  /** The entry number of the 32-byte id at src[at...], or -1. */
  find(src: Uint8Array, at: number): number {
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
  /** Appends the id at src[at...], which must not be present yet; returns its entry number. */
  insert(src: Uint8Array, at: number): number {
    this.reserve(1);
    const e = this.#count++;
    this.#ids.set(src.subarray(at, at + CHUNK_ID_LENGTH), e * CHUNK_ID_LENGTH);
    this.#slot(e);
    return e;
  }
  /** Entry e's id as a view of this table's memory: valid until the next growth frees that memory (it then reads empty); copy it to keep it. */
  view(e: number): Buffer {
    return this.#ids.subarray(e * CHUNK_ID_LENGTH, (e + 1) * CHUNK_ID_LENGTH);
  }
  /** Room for `more` entries: ids grown by doubling, the table rebuilt at twice their capacity. */
  reserve(more: number): void {
    const need = this.#count + more;
    const capacity = this.capacity;
    if (need <= capacity) return;
    let grown = Math.max(1024, capacity);
    while (grown < need) grown *= 2;
    const ids = Buffer.alloc(grown * CHUNK_ID_LENGTH);
    this.#ids.copy(ids, 0, 0, this.#count * CHUNK_ID_LENGTH);
    releaseBuffer(this.#ids);
    this.#ids = ids;
    this.#table = new Int32Array(grown * 2);
    for (let e = 0; e < this.#count; e++) this.#slot(e);
  }
  /** Places entry e in the table (its id is stored already). */
  #slot(e: number): void {
    const mask = this.#table.length - 1;
    let slot = slotOf(this.#ids, e * CHUNK_ID_LENGTH) & mask;
    while (this.#table[slot] !== 0) slot = (slot + 1) & mask;
    this.#table[slot] = e + 1;
  }
}

/** Table position of the id at src[at...]: its first eight bytes, mixed (ids are keyed hashes, but tests may use plain ones). */
function slotOf(src: Uint8Array, at: number): number {
  const a = src[at] | (src[at + 1] << 8) | (src[at + 2] << 16) | (src[at + 3] << 24);
  const b = src[at + 4] | (src[at + 5] << 8) | (src[at + 6] << 16) | (src[at + 7] << 24);
  return (Math.imul(a ^ Math.imul(b, 0x9e3779b1), 0x85ebca6b) ^ (b >>> 13)) >>> 0;
}
