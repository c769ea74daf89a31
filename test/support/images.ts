// Small deterministic images for round-trip tests: zeros, text, random bytes and copied regions.
import { createCipheriv, createHash } from 'node:crypto';

/** Deterministic pseudo-random bytes from a seed (AES-CTR keystream). */
export function prng(seed: string, length: number): Buffer {
  const key = createHash('sha256').update(seed).digest().subarray(0, 16);
  return createCipheriv('aes-128-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(length));
}

/** A mixed image: zero, text-like, random and duplicated 4 KiB-aligned regions. */
export function mixedImage(seed: string, size: number): Buffer {
  const out = Buffer.alloc(size);
  const r = prng(seed + '/layout', 4096);
  const words = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel', 'india', 'juliet', 'kilo', 'lima'];
  let pos = 0;
  let i = 0;
  while (pos < size) {
    const len = Math.min(size - pos, 4096 * (1 + (r[i % r.length] % 48)));
    const kind = r[(i + 1) % r.length] % 4;
    if (kind === 1) {
      let s = '';
      while (s.length < len) s += `${words[(i * 7 + s.length) % words.length]} ${pos + s.length} `;
      out.write(s.slice(0, len), pos, 'latin1');
    } else if (kind === 2) {
      prng(`${seed}/${i}`, len).copy(out, pos);
    } else if (kind === 3 && pos > len) {
      const from = Math.floor((r[(i + 2) % r.length] / 256) * (pos - len) / 4096) * 4096;
      out.copy(out, pos, from, from + len);
    }
    pos += len;
    i++;
  }
  return out;
}

/** Changes `count` blocks in place; returns their sorted indexes. */
export function changeBlocks(image: Buffer, blockSize: number, count: number, seed: string): number[] {
  const nBlocks = Math.ceil(image.length / blockSize);
  const r = prng(seed, count * 8);
  const picked = new Set<number>();
  for (let i = 0; picked.size < Math.min(count, nBlocks); i++) picked.add(r.readUInt32LE((i * 4) % (r.length - 4)) % nBlocks + (i >= r.length / 4 ? 0 : 0));
  for (const b of picked) {
    const start = b * blockSize;
    const len = Math.min(blockSize, image.length - start, 5000);
    prng(`${seed}/${b}`, len).copy(image, start);
  }
  return [...picked].sort((a, b) => a - b);
}
