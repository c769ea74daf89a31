// Tests for the seeded image generator and mutator: determinism, layout, content kinds, mutations.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFile, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { zstdCompressSync } from 'node:zlib';
import { InvalidArgumentError } from '../../core/errors.ts';
import { generateImage, mutateImage, type ImageExtent } from '../../providers/local/image-generator.ts';
import { withTempDir } from '../support/temp-dir.ts';

const KiB = 1024;
const MiB = 1024 * KiB;

const withDir = (fn: (dir: string) => Promise<void>) => withTempDir('ck-gen-', fn);

const sha256 = async (path: string): Promise<string> => createHash('sha256').update(await readFile(path)).digest('hex');

function assertContiguous(extents: ImageExtent[], size: number): void {
  let offset = 0;
  for (const e of extents) {
    assert.equal(e.offset, offset);
    assert.equal(e.offset % (4 * KiB), 0);
    offset += e.length;
  }
  assert.equal(offset, size);
}

test('the same seed gives byte-identical images; another seed does not', () =>
  withDir(async (dir) => {
    const a = await generateImage(join(dir, 'a'), { size: 16 * MiB, seed: 7 });
    const b = await generateImage(join(dir, 'b'), { size: 16 * MiB, seed: 7 });
    await generateImage(join(dir, 'c'), { size: 16 * MiB, seed: 8 });
    assert.deepEqual(a, b);
    assert.equal(await sha256(join(dir, 'a')), await sha256(join(dir, 'b')));
    assert.notEqual(await sha256(join(dir, 'a')), await sha256(join(dir, 'c')));
  }));

test('the file has exactly the asked size, including sizes not a multiple of 4 KiB', () =>
  withDir(async (dir) => {
    for (const size of [0, 1, 4095, 64 * KiB + 3, 5 * MiB + 123]) {
      const path = join(dir, `img-${size}`);
      const image = await generateImage(path, { size, seed: size });
      assert.equal((await stat(path)).size, size);
      assertContiguous(image.extents, size);
    }
    await assert.rejects(generateImage(join(dir, 'bad'), { size: -1, seed: 1 }), InvalidArgumentError);
    await assert.rejects(generateImage(join(dir, 'bad'), { size: 1, seed: 1, textFraction: -0.5 }), /textFraction -0.5/);
  }));

test('over 64 MiB the kinds follow their fractions and the bytes match their kind', () =>
  withDir(async (dir) => {
    const size = 64 * MiB;
    const path = join(dir, 'img');
    let lastProgress = 0;
    const image = await generateImage(path, { size, seed: 'fractions', onProgress: (done) => (lastProgress = done) });
    assert.equal(lastProgress, size);
    assertContiguous(image.extents, size);
    const expected = { zero: 0.35, text: 0.35, random: 0.2, duplicate: 0.1 };
    for (const kind of ['zero', 'text', 'random', 'duplicate'] as const) {
      const share = image.bytesByKind[kind] / size;
      assert.ok(Math.abs(share - expected[kind]) < 0.05, `${kind} share ${share.toFixed(3)}, expected about ${expected[kind]}`);
    }
    for (const e of image.extents.slice(0, -1)) {
      const min = e.kind === 'duplicate' ? 256 * KiB : 64 * KiB;
      assert.ok(e.length >= min && e.length <= 4 * MiB && e.length % (4 * KiB) === 0, `extent ${e.kind} of ${e.length} bytes`);
    }
    // Zero extents are holes, not written zeros.
    assert.ok((await stat(path)).blocks * 512 <= size - image.bytesByKind.zero);

    const bytes = await readFile(path);
    const slice = (e: ImageExtent) => bytes.subarray(e.offset, e.offset + e.length);
    const ratio = (data: Buffer) => data.length / zstdCompressSync(data).length;
    for (const e of image.extents) {
      const data = slice(e);
      if (e.kind === 'zero') assert.ok(data.every((b) => b === 0));
      if (e.kind === 'random') assert.ok(ratio(data) < 1.01, `random extent compresses ${ratio(data)}x`);
      if (e.kind === 'text') {
        assert.ok(data.every((b) => b === 10 || (b >= 32 && b < 127)), 'text is printable ASCII');
        const r = ratio(data.subarray(0, 512 * KiB));
        assert.ok(r > 2.5 && r < 3.6, `text compresses ${r.toFixed(2)}x`);
      }
    }
  }));

test('duplicate extents are byte copies of earlier non-zero data', () =>
  withDir(async (dir) => {
    const path = join(dir, 'img');
    const image = await generateImage(path, { size: 48 * MiB, seed: 3, duplicateFraction: 0.3 });
    const bytes = await readFile(path);
    const duplicates = image.extents.filter((e) => e.kind === 'duplicate');
    assert.ok(duplicates.length >= 3, `${duplicates.length} duplicates`);
    for (const d of duplicates) {
      const source = d.sourceOffset ?? -1;
      assert.ok(source >= 0 && source % (4 * KiB) === 0 && source + d.length <= d.offset);
      const from = image.extents.find((e) => e.offset <= source && source + d.length <= e.offset + e.length);
      assert.ok(from && from.kind !== 'zero', 'the source lies inside one earlier non-zero extent');
      assert.ok(bytes.subarray(d.offset, d.offset + d.length).equals(bytes.subarray(source, source + d.length)));
    }
  }));

test('mutateImage changes about the asked share of distinct blocks and reports them exactly', () =>
  withDir(async (dir) => {
    const blockSize = 512 * KiB;
    const size = 64 * MiB + 5000;
    const original = join(dir, 'orig');
    await generateImage(original, { size, seed: 11 });
    const blockCount = Math.ceil(size / blockSize);
    for (const [name, fraction] of [['two', 0.02], ['ten', 0.1]] as const) {
      const path = join(dir, name);
      await copyFile(original, path);
      const changed = await mutateImage(path, { seed: name, blockFraction: fraction });
      assert.equal(changed.length, Math.round(fraction * blockCount));
      assert.deepEqual(changed, [...new Set(changed)].sort((a, b) => a - b));
      assert.equal((await stat(path)).size, size);
      assert.deepEqual(await differingBlocks(original, path, blockSize), changed);
    }
    // Same seed, same mutation.
    await copyFile(original, join(dir, 'again'));
    assert.deepEqual(await mutateImage(join(dir, 'again'), { seed: 'two', blockFraction: 0.02 }), await differingBlocks(original, join(dir, 'two'), blockSize));
    assert.equal(await sha256(join(dir, 'again')), await sha256(join(dir, 'two')));
    // Applying it a second time must still change every reported block.
    const repeat = await mutateImage(join(dir, 'again'), { seed: 'two', blockFraction: 0.02 });
    assert.deepEqual(await differingBlocks(join(dir, 'two'), join(dir, 'again'), blockSize), repeat);
    await assert.rejects(mutateImage(original, { seed: 1, blockFraction: 2 }), /blockFraction 2/);
  }));

test('mutateImage with a writer callback routes every write through it', async () => {
  const image = Buffer.alloc(4 * MiB);
  const writes: number[] = [];
  const changed = await mutateImage(
    { size: image.length, write: async (offset, data) => void (writes.push(offset), image.set(data, offset)) },
    { seed: 5, blockFraction: 0.25, blockSize: 256 * KiB },
  );
  assert.equal(changed.length, 4);
  assert.deepEqual(writes.map((o) => Math.floor(o / (256 * KiB))), changed);
});

async function differingBlocks(a: string, b: string, blockSize: number): Promise<number[]> {
  const [x, y] = [await readFile(a), await readFile(b)];
  const out: number[] = [];
  for (let i = 0; i * blockSize < Math.max(x.length, y.length); i++) {
    if (!x.subarray(i * blockSize, (i + 1) * blockSize).equals(y.subarray(i * blockSize, (i + 1) * blockSize))) out.push(i);
  }
  return out;
}
