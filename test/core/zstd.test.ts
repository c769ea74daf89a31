// The reused-context zstd wrapper: frames are independent and errors never poison later calls.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { zstdDecompressSync } from 'node:zlib';
import { zstdCompress, zstdDecompress } from '../../core/repo/zstd.ts';
import { mixedImage, prng } from '../support/images.ts';

describe('zstd with a reused context', () => {
  it('makes standalone frames that round-trip for many sizes and levels', () => {
    for (const level of [1, 3]) {
      for (const size of [1, 100, 4096, 65536, 524288, 2 * 1024 * 1024]) {
        const data = mixedImage(`z${size}`, size);
        const frame = zstdCompress(data, level);
        assert.ok(zstdDecompressSync(frame).equals(data), `one-shot decode of ${size} at level ${level}`);
        assert.ok(zstdDecompress(frame, size).equals(data), `reused decode of ${size} at level ${level}`);
      }
    }
  });

  it('rejects a frame whose length differs from the expected one, then keeps working', () => {
    const data = mixedImage('len', 65536);
    const frame = zstdCompress(data, 1);
    assert.throws(() => zstdDecompress(frame, 65535));
    assert.throws(() => zstdDecompress(frame, 65537));
    assert.ok(zstdDecompress(frame, 65536).equals(data));
  });

  it('rejects garbage and damaged frames, then decodes the next good frame', () => {
    const data = mixedImage('dmg', 100000);
    const frame = zstdCompress(data, 1);
    const damaged = Buffer.from(frame);
    damaged[Math.floor(damaged.length / 2)] ^= 0xff;
    assert.throws(() => zstdDecompress(prng('garbage', 5000), 5000));
    let damagedOk = false;
    try {
      damagedOk = zstdDecompress(damaged, data.length).equals(data);
    } catch {
      damagedOk = false;
    }
    assert.equal(damagedOk, false, 'a damaged frame must not decode to the original');
    assert.ok(zstdDecompress(frame, data.length).equals(data));
  });
});
