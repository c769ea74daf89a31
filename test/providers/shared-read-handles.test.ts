// Tests for SharedReadHandles: one open per file while reads overlap, closed after the last.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SharedReadHandles } from '../../providers/local/shared-read-handles.ts';

test('overlapping reads share one handle; it closes after the last; a missing file fails every caller', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ck-handles-'));
  try {
    const path = join(dir, 'a.img');
    await writeFile(path, Buffer.from('0123456789'));
    const handles = new SharedReadHandles();
    const seen = new Set<number>();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const reads = [0, 4, 8].map((at) =>
      handles.use(path, async (h) => {
        seen.add(h.fd);
        await gate;
        const b = Buffer.alloc(2);
        await h.read(b, 0, 2, at);
        return b.toString();
      }),
    );
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(handles.openPaths, [path]);
    release();
    assert.deepEqual(await Promise.all(reads), ['01', '45', '89']);
    assert.equal(seen.size, 1, 'one descriptor for the overlapping reads');
    assert.deepEqual(handles.openPaths, [], 'closed after the last read');
    await assert.rejects(handles.use(join(dir, 'missing.img'), async () => 'never'), { code: 'ENOENT' });
    assert.deepEqual(handles.openPaths, []);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
