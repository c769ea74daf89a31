// AES-256-GCM with a random 96-bit nonce: the one cipher of the repository format.
import { createCipheriv, createDecipheriv, createSecretKey, randomFillSync, type KeyObject } from 'node:crypto';
import { releaseBuffer } from '../util/release-buffer.ts';

export const NONCE_LENGTH = 12;
export const TAG_LENGTH = 16;
export const SEAL_OVERHEAD = NONCE_LENGTH + TAG_LENGTH;

// Key objects are cached: building one per chunk costs more than encrypting 64 KiB.
const keyObjects = new Map<string, KeyObject>();
function keyObject(key: Uint8Array): KeyObject {
  const id = Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1');
  let k = keyObjects.get(id);
  if (!k) {
    if (keyObjects.size >= 64) keyObjects.clear();
    k = createSecretKey(key);
    keyObjects.set(id, k);
  }
  return k;
}

// Nonces are random, drawn from the CSPRNG in batches rather than one call per chunk.
const noncePool = Buffer.alloc(NONCE_LENGTH * 4096);
let nonceNext = noncePool.length;
function writeNonce(target: Buffer): void {
  if (nonceNext + NONCE_LENGTH > noncePool.length) {
    randomFillSync(noncePool);
    nonceNext = 0;
  }
  noncePool.copy(target, 0, nonceNext, nonceNext + NONCE_LENGTH);
  nonceNext += NONCE_LENGTH;
}

/** Returns nonce | ciphertext | tag. */
export function seal(key: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(NONCE_LENGTH + plaintext.length + TAG_LENGTH);
  sealInto(key, plaintext, aad, out, 0);
  return out;
}

/** Writes nonce | ciphertext | tag to target[offset...] (room for plaintext + SEAL_OVERHEAD); returns the length. */
export function sealInto(key: Uint8Array, plaintext: Uint8Array, aad: Uint8Array, target: Buffer, offset: number): number {
  const out = target.subarray(offset, offset + NONCE_LENGTH + plaintext.length + TAG_LENGTH);
  if (out.length !== NONCE_LENGTH + plaintext.length + TAG_LENGTH) throw new RangeError(`no room to seal ${plaintext.length} bytes at ${offset} of ${target.length}`);
  writeNonce(out);
  const cipher = createCipheriv('aes-256-gcm', keyObject(key), out.subarray(0, NONCE_LENGTH));
  cipher.setAAD(aad);
  let o = NONCE_LENGTH;
  const body = cipher.update(plaintext);
  o += body.copy(out, o);
  releaseBuffer(body);
  o += cipher.final().copy(out, o);
  cipher.getAuthTag().copy(out, o);
  return out.length;
}

/** Opens nonce | ciphertext | tag; returns null when authentication fails (wrong key or tampered bytes). */
export function open(key: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Buffer | null {
  if (sealed.length < SEAL_OVERHEAD) return null;
  const nonce = sealed.subarray(0, NONCE_LENGTH);
  const tag = sealed.subarray(sealed.length - TAG_LENGTH);
  const body = sealed.subarray(NONCE_LENGTH, sealed.length - TAG_LENGTH);
  const decipher = createDecipheriv('aes-256-gcm', keyObject(key), nonce);
  decipher.setAAD(aad);
  decipher.setAuthTag(tag);
  try {
    const out = decipher.update(body);
    const tail = decipher.final();
    return tail.length === 0 ? out : Buffer.concat([out, tail]);
  } catch {
    return null;
  }
}
