// Pure per-block work of the pipeline (runs in worker threads): cut, hash, seal and open chunks.
import { Blake3Hasher } from '@napi-rs/blake-hash';
import { open, SEAL_OVERHEAD, sealInto } from '../crypto/aead.ts';
import type { ChunkingParams } from './config.ts';
import { zstdCompressView, zstdDecompressInto } from './zstd.ts';
import { releaseBuffer } from '../util/release-buffer.ts';

export const CHUNK_ID_LENGTH = 32;
export const FLAG_ZSTD = 1;
/** Chunk kinds, bound into each chunk's authentication data. */
export const CHUNK_KIND = { data: 0, tree: 1 } as const;
export type ChunkKind = (typeof CHUNK_KIND)[keyof typeof CHUNK_KIND];

const ZERO = Buffer.alloc(1024 * 1024);

export function isZero(data: Uint8Array): boolean {
  for (let off = 0; off < data.length; off += ZERO.length) {
    const end = Math.min(off + ZERO.length, data.length);
    if (Buffer.compare(data.subarray(off, end), ZERO.subarray(0, end - off)) !== 0) return false;
  }
  return true;
}

// One keyed hasher per key and thread, reset per chunk: a new native hasher per chunk cost ~20% of hashing.
const hashers = new Map<string, Blake3Hasher>();

export function chunkId(idKey: Buffer, data: Uint8Array): Buffer {
  const name = idKey.toString('latin1');
  let h = hashers.get(name);
  if (!h) {
    if (hashers.size >= 16) hashers.clear();
    hashers.set(name, (h = Blake3Hasher.newKeyed(idKey)));
  } else h.reset();
  return h.update(data).digestBuffer();
}

/**
 * Content-defined cut points inside one block, on page boundaries: a page ends a chunk when a
 * fingerprint of its sampled words hits the mask. The decision depends only on the page itself
 * (and the minimum size), so a region copied to another 4 KiB-aligned place is cut the same way
 * and deduplicates, while the block stays the unit of changed-block tracking. Returns chunk ends.
 */
export function cutPoints(block: Uint8Array, params: ChunkingParams): number[] {
  const { pageSize, subChunkAverage, subChunkMin } = params;
  const length = block.length;
  if (subChunkAverage >= length) return [length];
  const span = Math.max(1, Math.round((subChunkAverage - subChunkMin) / pageSize));
  const view = new DataView(block.buffer, block.byteOffset, block.byteLength);
  const stride = Math.max(4, Math.floor(pageSize / 8)) & ~3;
  const ends: number[] = [];
  let start = 0;
  for (let page = 0; page + pageSize <= length; page += pageSize) {
    const end = page + pageSize;
    if (end - start < subChunkMin || end === length) continue;
    let h = 0x9e3779b9;
    for (let o = 0; o < pageSize; o += stride) h = Math.imul(h ^ view.getUint32(page + o, true), 0x85ebca6b) >>> 0;
    h ^= h >>> 15;
    if (h % span === 0) {
      ends.push(end);
      start = end;
    }
  }
  ends.push(length);
  return ends;
}

export interface HashedChunk {
  offset: number;
  length: number;
  /** null for an all-zero chunk, which is never stored. */
  id: Buffer | null;
}

/** Cuts a block and names each chunk; an all-zero block yields no chunks at all. */
export function hashBlock(block: Uint8Array, params: ChunkingParams, idKey: Buffer): HashedChunk[] {
  if (isZero(block)) return [];
  const out: HashedChunk[] = [];
  let start = 0;
  for (const end of cutPoints(block, params)) {
    const piece = block.subarray(start, end);
    out.push({ offset: start, length: end - start, id: isZero(piece) ? null : chunkId(idKey, piece) });
    start = end;
  }
  return out;
}

function chunkAad(id: Uint8Array, flags: number, rawLength: number, kind: number): Buffer {
  const aad = Buffer.alloc(CHUNK_ID_LENGTH + 6);
  aad.set(id, 0);
  aad[CHUNK_ID_LENGTH] = flags;
  aad.writeUInt32LE(rawLength, CHUNK_ID_LENGTH + 1);
  aad[CHUNK_ID_LENGTH + 5] = kind;
  return aad;
}

export interface SealedChunk {
  flags: number;
  rawLength: number;
  sealed: Buffer;
}

/** Compresses (kept raw when zstd does not shrink it) and encrypts one chunk. */
export function sealChunk(data: Uint8Array, id: Uint8Array, kind: number, key: Buffer, level: number): SealedChunk {
  const out = Buffer.allocUnsafe(data.length + SEAL_OVERHEAD);
  const r = sealChunkInto(data, id, kind, key, level, out, 0);
  return { flags: r.flags, rawLength: r.rawLength, sealed: out.subarray(0, r.length) };
}

/** Room a sealed chunk of `rawLength` bytes may need at most (stored raw when zstd does not shrink it). */
export const sealedBound = (rawLength: number): number => rawLength + SEAL_OVERHEAD;

/** sealChunk writing into target[offset...] (room for sealedBound bytes): no buffer per chunk. */
export function sealChunkInto(data: Uint8Array, id: Uint8Array, kind: number, key: Buffer, level: number, target: Buffer, offset: number): { flags: number; rawLength: number; length: number } {
  const packed = zstdCompressView(data, level);
  const useZstd = packed.length < data.length;
  const flags = useZstd ? FLAG_ZSTD : 0;
  const length = sealInto(key, useZstd ? packed : data, chunkAad(id, flags, data.length, kind), target, offset);
  return { flags, rawLength: data.length, length };
}

export type OpenResult = { ok: true; data: Buffer } | { ok: false; reason: string };

/**
 * Decrypts, decompresses and re-hashes one chunk; any mismatch is reported, never returned as data.
 * With `target`, the data is written to target[offset, offset + rawLength) and returned as that slice.
 */
export function openChunk(sealed: Uint8Array, id: Uint8Array, kind: number, flags: number, rawLength: number, key: Buffer, idKey: Buffer, target?: Buffer, offset = 0): OpenResult {
  const plain = open(key, sealed, chunkAad(id, flags, rawLength, kind));
  if (plain === null) return { ok: false, reason: 'authentication failed' };
  let data: Buffer;
  try {
    const out = target ?? Buffer.allocUnsafe(rawLength);
    if ((flags & FLAG_ZSTD) !== 0) data = zstdDecompressInto(plain, out, target ? offset : 0, rawLength);
    else if (target) data = target.subarray(offset, offset + plain.copy(target, offset, 0, rawLength));
    else data = plain;
    // The decrypted bytes were copied out (unless they are the data returned): their memory goes now.
    if (data.buffer !== plain.buffer) releaseBuffer(plain);
  } catch {
    return { ok: false, reason: 'does not decompress' };
  }
  if (data.length !== rawLength) return { ok: false, reason: `length ${data.length}, expected ${rawLength}` };
  if (!chunkId(idKey, data).equals(id)) return { ok: false, reason: 'content does not match its id' };
  return { ok: true, data };
}
