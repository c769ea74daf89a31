// AES-256-GCM with a random 96-bit nonce: the one cipher of the repository format.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

export const NONCE_LENGTH = 12;
export const TAG_LENGTH = 16;
export const SEAL_OVERHEAD = NONCE_LENGTH + TAG_LENGTH;

/** Returns nonce | ciphertext | tag. */
export function seal(key: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Buffer {
  const nonce = randomBytes(NONCE_LENGTH);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(aad);
  const body = cipher.update(plaintext);
  const tail = cipher.final();
  const tag = cipher.getAuthTag();
  return Buffer.concat([nonce, body, tail, tag], NONCE_LENGTH + plaintext.length + TAG_LENGTH);
}

/** Opens nonce | ciphertext | tag; returns null when authentication fails (wrong key or tampered bytes). */
export function open(key: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Buffer | null {
  if (sealed.length < SEAL_OVERHEAD) return null;
  const nonce = sealed.subarray(0, NONCE_LENGTH);
  const tag = sealed.subarray(sealed.length - TAG_LENGTH);
  const body = sealed.subarray(NONCE_LENGTH, sealed.length - TAG_LENGTH);
  const decipher = createDecipheriv('aes-256-gcm', key, nonce);
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
