// Pack objects: many sealed chunks appended, then an encrypted trailer that lists them.
//
// Layout: header "CKPK" | version u8 | reserved[3] | sessionSalt[16]
//         chunk* (nonce | ciphertext | tag, as sealChunk writes it)
//         trailer (nonce | sealed entry table | tag) | trailerLength u32 LE | "CKPT"
// Data key: HKDF(master, sessionSalt, "cloudkeep/v1/pack"). The trailer's AAD is the pack id, so a
// renamed pack is detected, and indexes can be rebuilt from packs alone.
import { open, seal } from '../crypto/aead.ts';
import type { MasterKey } from '../crypto/master-key.ts';
import { CorruptObjectError } from '../errors.ts';
import { CHUNK_ID_LENGTH } from './block-codec.ts';

const MAGIC = Buffer.from('CKPK');
const TRAILER_MAGIC = Buffer.from('CKPT');
export const PACK_HEADER_LENGTH = 24;
export const PACK_FOOTER_LENGTH = 8;
const VERSION = 1;
export const PACK_ENTRY_LENGTH = CHUNK_ID_LENGTH + 14;

export interface PackEntry {
  id: Buffer;
  offset: number;
  length: number;
  rawLength: number;
  flags: number;
  kind: number;
}

export function packDataKey(master: MasterKey, sessionSalt: Uint8Array): Buffer {
  return master.derive('cloudkeep/v1/pack', sessionSalt);
}

export function packHeader(sessionSalt: Uint8Array): Buffer {
  const h = Buffer.alloc(PACK_HEADER_LENGTH);
  MAGIC.copy(h, 0);
  h[4] = VERSION;
  h.set(sessionSalt, 8);
  return h;
}

export function encodeEntries(entries: PackEntry[]): Buffer {
  const out = Buffer.alloc(4 + entries.length * PACK_ENTRY_LENGTH);
  out.writeUInt32LE(entries.length, 0);
  let o = 4;
  for (const e of entries) {
    e.id.copy(out, o);
    o += CHUNK_ID_LENGTH;
    out.writeUInt32LE(e.offset, o);
    out.writeUInt32LE(e.length, o + 4);
    out.writeUInt32LE(e.rawLength, o + 8);
    out[o + 12] = e.flags;
    out[o + 13] = e.kind;
    o += 14;
  }
  return out;
}

export function decodeEntries(buf: Buffer, objectKey: string): PackEntry[] {
  if (buf.length < 4) throw new CorruptObjectError(objectKey, 'entry table too short');
  const count = buf.readUInt32LE(0);
  if (buf.length !== 4 + count * PACK_ENTRY_LENGTH) throw new CorruptObjectError(objectKey, `entry table of ${buf.length} bytes does not hold ${count} entries`);
  const out: PackEntry[] = [];
  for (let i = 0, o = 4; i < count; i++, o += PACK_ENTRY_LENGTH) {
    out.push({
      id: Buffer.from(buf.subarray(o, o + CHUNK_ID_LENGTH)),
      offset: buf.readUInt32LE(o + 32),
      length: buf.readUInt32LE(o + 36),
      rawLength: buf.readUInt32LE(o + 40),
      flags: buf[o + 44],
      kind: buf[o + 45],
    });
  }
  return out;
}

/** Seals the entry table and appends the footer; returns the bytes that end the pack. */
export function packTrailer(key: Buffer, packId: string, entries: PackEntry[]): Buffer {
  const sealed = seal(key, encodeEntries(entries), Buffer.from(`pack:${packId}`));
  const footer = Buffer.alloc(PACK_FOOTER_LENGTH);
  footer.writeUInt32LE(sealed.length, 0);
  TRAILER_MAGIC.copy(footer, 4);
  return Buffer.concat([sealed, footer]);
}

/** Parses a whole pack's header and trailer; the caller then checks each chunk. */
export function parsePack(master: MasterKey, packId: string, objectKey: string, pack: Buffer): { key: Buffer; entries: PackEntry[] } {
  return parsePackEnds(master, packId, objectKey, pack.subarray(0, PACK_HEADER_LENGTH), pack, pack.length);
}

/**
 * Parses a pack from its header and its tail (the last bytes, holding at least footer and trailer),
 * so a reader need not hold the whole pack; `packLength` is the pack's full size.
 */
export function parsePackEnds(master: MasterKey, packId: string, objectKey: string, header: Buffer, tail: Buffer, packLength: number): { key: Buffer; entries: PackEntry[] } {
  if (packLength < PACK_HEADER_LENGTH + PACK_FOOTER_LENGTH || header.length < PACK_HEADER_LENGTH || !header.subarray(0, 4).equals(MAGIC)) {
    throw new CorruptObjectError(objectKey, 'not a Cloudkeep pack (bad magic or too short)');
  }
  if (header[4] !== VERSION) throw new CorruptObjectError(objectKey, `unknown pack version ${header[4]}`);
  const footer = tail.subarray(tail.length - PACK_FOOTER_LENGTH);
  if (!footer.subarray(4).equals(TRAILER_MAGIC)) throw new CorruptObjectError(objectKey, 'bad trailer magic (truncated pack?)');
  const trailerLength = footer.readUInt32LE(0);
  const trailerStart = packLength - PACK_FOOTER_LENGTH - trailerLength;
  if (trailerStart < PACK_HEADER_LENGTH) throw new CorruptObjectError(objectKey, `trailer length ${trailerLength} exceeds the pack`);
  const inTail = tail.length - PACK_FOOTER_LENGTH - trailerLength;
  if (inTail < 0) throw new CorruptObjectError(objectKey, `trailer of ${trailerLength} bytes is longer than the ${tail.length} bytes read from the pack's end`);
  const key = packDataKey(master, header.subarray(8, 24));
  const table = open(key, tail.subarray(inTail, tail.length - PACK_FOOTER_LENGTH), Buffer.from(`pack:${packId}`));
  if (table === null) throw new CorruptObjectError(objectKey, 'trailer authentication failed (tampered, truncated or renamed)');
  const entries = decodeEntries(table, objectKey);
  for (const e of entries) {
    if (e.offset < PACK_HEADER_LENGTH || e.offset + e.length > trailerStart) {
      throw new CorruptObjectError(objectKey, `entry ${e.id.toString('hex')} points outside the chunk area`);
    }
  }
  return { key, entries };
}

export function readPackSalt(header: Uint8Array, objectKey: string): Buffer {
  const h = Buffer.from(header.buffer, header.byteOffset, header.byteLength);
  if (h.length < PACK_HEADER_LENGTH || !h.subarray(0, 4).equals(MAGIC) || h[4] !== VERSION) {
    throw new CorruptObjectError(objectKey, 'bad pack header');
  }
  return Buffer.from(h.subarray(8, 24));
}
