// Sealed objects: the encrypted, authenticated envelope of index, manifest and marker objects.
//
// Layout: magic "CKOB" | version u8 | kind u8 | flags u8 | reserved u8 | salt[16] | nonce[12] | ciphertext | tag[16]
// Key: HKDF(master, salt, "cloudkeep/v1/object/<kind>"). AAD: the 24-byte header and the object key,
// so an object moved to another name fails authentication.
import { randomBytes } from 'node:crypto';
import { zstdCompressSync, zstdDecompressSync } from 'node:zlib';
import { open, seal } from '../crypto/aead.ts';
import type { MasterKey } from '../crypto/master-key.ts';
import { CorruptObjectError } from '../errors.ts';
import { releaseBuffer } from '../util/release-buffer.ts';

const MAGIC = Buffer.from('CKOB');
const HEADER_LENGTH = 24;
const VERSION = 1;
const FLAG_ZSTD = 1;

export const SEALED_KINDS = { index: 1, manifest: 2, marker: 3 } as const;
export type SealedKind = keyof typeof SEALED_KINDS;

export function sealObject(master: MasterKey, kind: SealedKind, objectKey: string, plaintext: Uint8Array): Buffer {
  const header = Buffer.alloc(HEADER_LENGTH);
  MAGIC.copy(header, 0);
  header[4] = VERSION;
  header[5] = SEALED_KINDS[kind];
  header[6] = FLAG_ZSTD;
  const salt = randomBytes(16);
  salt.copy(header, 8);
  const key = master.derive(`cloudkeep/v1/object/${kind}`, salt);
  const packed = zstdCompressSync(plaintext);
  const body = seal(key, packed, Buffer.concat([header, Buffer.from(objectKey)]));
  releaseBuffer(packed);
  const sealed = Buffer.concat([header, body]);
  releaseBuffer(body);
  return sealed;
}

export function openObject(master: MasterKey, kind: SealedKind, objectKey: string, data: Uint8Array): Buffer {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (buf.length < HEADER_LENGTH + 28 || !buf.subarray(0, 4).equals(MAGIC)) {
    throw new CorruptObjectError(objectKey, 'not a Cloudkeep sealed object (bad magic or too short)');
  }
  if (buf[4] !== VERSION) throw new CorruptObjectError(objectKey, `unknown object version ${buf[4]}`);
  if (buf[5] !== SEALED_KINDS[kind]) throw new CorruptObjectError(objectKey, `expected a ${kind} object, found kind ${buf[5]}`);
  const header = buf.subarray(0, HEADER_LENGTH);
  const key = master.derive(`cloudkeep/v1/object/${kind}`, header.subarray(8, 24));
  const plain = open(key, buf.subarray(HEADER_LENGTH), Buffer.concat([header, Buffer.from(objectKey)]));
  if (plain === null) throw new CorruptObjectError(objectKey, 'authentication failed (tampered or truncated)');
  try {
    return (buf[6] & FLAG_ZSTD) !== 0 ? zstdDecompressSync(plain) : plain;
  } catch (err) {
    throw new CorruptObjectError(objectKey, 'payload does not decompress', { cause: err });
  }
}
