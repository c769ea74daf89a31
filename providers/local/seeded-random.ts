// Deterministic pseudo-random numbers and bytes for generated test data (never for secrets).
import { createCipheriv, createHash } from 'node:crypto';

export type Seed = number | string;

// AES-CTR over zeros gives GB/s of reproducible bytes; a JS PRNG would be ~10x slower.
const ZEROS = Buffer.alloc(4 * 1024 * 1024);

/** xoshiro128** for decisions, AES-128-CTR keyed from the seed for bulk bytes. */
export class SeededRandom {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  private readonly key: Buffer;

  /** `stream` names an independent sequence under the same seed (e.g. "layout", "text"). */
  constructor(seed: Seed, stream = '') {
    const digest = createHash('sha256').update(`${typeof seed}:${String(seed)}\0${stream}`).digest();
    this.s0 = digest.readUInt32LE(0);
    this.s1 = digest.readUInt32LE(4);
    this.s2 = digest.readUInt32LE(8);
    this.s3 = digest.readUInt32LE(12);
    // An all-zero state would be a fixed point of xoshiro.
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
    this.key = digest.subarray(16, 32);
  }

  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform integer in [min, max). */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min));
  }

  /** An independent sequence seeded from this one (consumes two values of this one). */
  fork(stream: string): SeededRandom {
    return new SeededRandom(`${this.nextUint32()}:${this.nextUint32()}`, stream);
  }

  /** `length` incompressible bytes; each call starts a fresh keystream from a drawn IV. */
  bytes(length: number): Buffer {
    const iv = Buffer.allocUnsafe(16);
    for (let i = 0; i < 16; i += 4) iv.writeUInt32LE(this.nextUint32(), i);
    const cipher = createCipheriv('aes-128-ctr', this.key, iv);
    if (length <= ZEROS.length) return cipher.update(ZEROS.subarray(0, length));
    const parts: Buffer[] = [];
    for (let done = 0; done < length; done += ZEROS.length) {
      parts.push(cipher.update(ZEROS.subarray(0, Math.min(ZEROS.length, length - done))));
    }
    return Buffer.concat(parts, length);
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
