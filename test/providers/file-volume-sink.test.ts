// Tests for FileVolumeSink: parallel out-of-order writes, final size, holes, misuse.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AbortedError, CloudkeepError, InvalidArgumentError } from '../../core/errors.ts';
import { FileVolumeSink } from '../../providers/local/file-volume-sink.ts';
import { withTempDir } from '../support/temp-dir.ts';

const BS = 512 * 1024;

const withDir = (fn: (dir: string) => Promise<void>) => withTempDir('ck-sink-', fn);

test('parallel out-of-order writes land at their offsets; gaps read as zeros and stay holes', () =>
  withDir(async (dir) => {
    const path = join(dir, 'restored.img');
    const sink = new FileVolumeSink(path);
    const size = 64 * BS + 123;
    const blocks = [63, 2, 40, 0, 17, 64];
    await Promise.all(blocks.map((b) => sink.write(b * BS, Buffer.alloc(b === 64 ? 123 : BS, b + 1))));
    await sink.finish(size);
    const data = await readFile(path);
    assert.equal(data.length, size);
    for (let b = 0; b <= 64; b++) {
      const block = data.subarray(b * BS, (b + 1) * BS);
      assert.ok(block.every((x) => x === (blocks.includes(b) ? b + 1 : 0)), `block ${b}`);
    }
    assert.ok((await stat(path)).blocks * 512 < 8 * BS, 'unwritten ranges are not allocated');
  }));

test('finish cuts writes past the size and extends short files with a hole', () =>
  withDir(async (dir) => {
    const cut = new FileVolumeSink(join(dir, 'cut.img'));
    await cut.write(0, Buffer.alloc(BS, 9));
    await cut.finish(100);
    assert.deepEqual(await readFile(join(dir, 'cut.img')), Buffer.alloc(100, 9));

    const empty = new FileVolumeSink(join(dir, 'empty.img'));
    await empty.finish(3 * BS);
    const s = await stat(join(dir, 'empty.img'));
    assert.equal(s.size, 3 * BS);
    assert.equal(s.blocks, 0);
  }));

test('an existing file is replaced, so its old bytes never show through', () =>
  withDir(async (dir) => {
    const path = join(dir, 'old.img');
    await writeFile(path, Buffer.alloc(2 * BS, 0xee));
    const sink = new FileVolumeSink(path);
    await sink.write(BS, Buffer.alloc(10, 1));
    await sink.finish(2 * BS);
    const data = await readFile(path);
    assert.ok(data.subarray(0, BS).every((x) => x === 0));
    assert.deepEqual(data.subarray(BS, BS + 10), Buffer.alloc(10, 1));
  }));

test('misuse is refused', () =>
  withDir(async (dir) => {
    const sink = new FileVolumeSink(join(dir, 'x.img'));
    await assert.rejects(sink.write(-1, Buffer.alloc(1)), InvalidArgumentError);
    await assert.rejects(sink.finish(1.5), /image size 1.5/);
    await assert.rejects(sink.write(0, Buffer.alloc(1), { signal: AbortSignal.abort() }), AbortedError);
    await sink.finish(10);
    await assert.rejects(sink.write(0, Buffer.alloc(1)), (err: Error) => err instanceof CloudkeepError && /already finished/.test(err.message));
    await assert.rejects(sink.finish(10), CloudkeepError);

    const closed = new FileVolumeSink(join(dir, 'y.img'));
    await closed.write(0, Buffer.alloc(1, 1));
    await closed.close();
    await assert.rejects(closed.write(0, Buffer.alloc(1)), /already closed/);
    await assert.rejects(new FileVolumeSink(join(dir, 'no', 'such', 'dir.img')).write(0, Buffer.alloc(1)), { code: 'ENOENT' });
  }));

test('lanes writing through the descriptor start one background write-back per flushEvery bytes; finish waits for it', () =>
  withDir(async (dir) => {
    const path = join(dir, 'restored.img');
    const sink = new FileVolumeSink(path, { flushEvery: 2 * BS });
    const fd = await sink.fileDescriptor();
    const { writeSync } = await import('node:fs');
    for (let b = 0; b < 5; b++) {
      writeSync(fd, Buffer.alloc(BS, b + 1), 0, BS, b * BS);
      sink.wrote(BS);
    }
    // 5 blocks: a write-back after the 2nd; the 4th finds it still running or starts the second.
    assert.ok(sink.flushesStarted >= 1 && sink.flushesStarted <= 2, `flushes started: ${sink.flushesStarted}`);
    await sink.finish(5 * BS);
    const data = await readFile(path);
    for (let b = 0; b < 5; b++) assert.ok(data.subarray(b * BS, (b + 1) * BS).every((x) => x === b + 1), `block ${b}`);
    sink.wrote(10 * BS); // after finish: counted, never flushed
    assert.ok(sink.flushesStarted <= 2);
  }));
