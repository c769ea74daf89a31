// The repository master key and the subkeys derived from it with HKDF-SHA256.
import { hkdfSync, randomBytes, timingSafeEqual, createHmac } from 'node:crypto';

export const MASTER_KEY_LENGTH = 32;

export class MasterKey {
  readonly #key: Buffer;
  /** Key of the keyed BLAKE3 hash that names chunks, so ids reveal nothing about content. */
  readonly chunkIdKey: Buffer;
  /** A separate id key for tree chunks, so a tree and a data chunk can never share an id. */
  readonly treeIdKey: Buffer;
  constructor(key: Uint8Array) {
    if (key.length !== MASTER_KEY_LENGTH) throw new RangeError(`master key must be ${MASTER_KEY_LENGTH} bytes`);
    this.#key = Buffer.from(key);
    this.chunkIdKey = this.derive('cloudkeep/v1/chunk-id', Buffer.alloc(0));
    this.treeIdKey = this.derive('cloudkeep/v1/tree-id', Buffer.alloc(0));
  }
  static generate(): MasterKey {
    return new MasterKey(randomBytes(MASTER_KEY_LENGTH));
  }
  /** The raw key, for wrapping by a key provider only. */
  exportRaw(): Buffer {
    return Buffer.from(this.#key);
  }
  /** A 256-bit subkey for one purpose (info) and one object or session (salt). */
  derive(info: string, salt: Uint8Array): Buffer {
    return Buffer.from(hkdfSync('sha256', this.#key, salt, info, 32));
  }
  /** HMAC-SHA256 under a purpose-bound subkey; authenticates the config object. */
  mac(info: string, data: Uint8Array): Buffer {
    return createHmac('sha256', this.derive(info, Buffer.alloc(0))).update(data).digest();
  }
  verifyMac(info: string, data: Uint8Array, expected: Uint8Array): boolean {
    const actual = this.mac(info, data);
    return actual.length === expected.length && timingSafeEqual(actual, expected);
  }
  toString(): string {
    return 'MasterKey([redacted])';
  }
  toJSON(): string {
    return '[redacted]';
  }
}
