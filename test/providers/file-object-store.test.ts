// Runs the ObjectStore contract over FileObjectStore, plus its on-disk layout and temp-file rules.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { listAll, ObjectNotFoundError, StoreError } from '../../core/store/object-store.ts';
import { FileObjectStore, fsErrorToStoreError } from '../../providers/local/file-object-store.ts';
import { describeObjectStoreContract } from '../support/object-store-contract.ts';

async function tempRoot(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'cloudkeep-file-store-'));
}

/** Every file name under dir, recursively, relative to dir. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name).slice(dir.length + 1)).sort();
}

describeObjectStoreContract('FileObjectStore', async () => {
  const root = await tempRoot();
  return { store: new FileObjectStore(root), cleanup: () => rm(root, { recursive: true, force: true }) };
});

describe('FileObjectStore', () => {
  let root: string;
  let store: FileObjectStore;
  before(async () => {
    root = await tempRoot();
    store = new FileObjectStore(root);
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('describes itself by file URL of its absolute root', () => {
    assert.equal(store.description, pathToFileURL(root).href);
    assert.ok(store.description.startsWith('file:///'));
    assert.deepEqual(store.capabilities, { conditionalWrites: false, objectLock: false, storageTiers: false });
  });

  it('stores each key as a file at the matching relative path', async () => {
    await store.put('layout/a/b', Buffer.from('bytes'));
    assert.equal(await readFile(join(root, 'layout', 'a', 'b'), 'utf8'), 'bytes');
  });

  it('leaves no temp files after puts', async () => {
    await Promise.all(Array.from({ length: 20 }, (_, i) => store.put(`clean/${i % 3}/${i}`, Buffer.alloc(i * 100, i))));
    await store.put('clean/0/0', Buffer.from('overwrite'));
    const files = await filesUnder(join(root, 'clean'));
    assert.equal(files.length, 20);
    assert.ok(!files.some((f) => f.split('/').some((part) => part.startsWith('.tmp-'))), files.join(', '));
  });

  it('does not list a leftover temp file or a name outside the key alphabet', async () => {
    await store.put('left/real', Buffer.from('r'));
    await writeFile(join(root, 'left', '.tmp-0123456789abcdef'), 'half a pack');
    await writeFile(join(root, 'left', 'not a key'), 'junk');
    assert.deepEqual((await listAll(store, 'left/')).map((i) => i.key), ['left/real']);
    assert.deepEqual((await listAll(store, 'left/.tmp')).map((i) => i.key), []);
  });

  it('rejects keys with a reserved temp-file segment', async () => {
    await assert.rejects(store.put('x/.tmp-abc', Buffer.from('x')), StoreError);
    await assert.rejects(store.get('.tmp-abc/y'), (err) => err instanceof StoreError && !(err instanceof ObjectNotFoundError));
  });

  it('cleans up its temp file when the rename fails', async () => {
    await mkdir(join(root, 'fail', 'target', 'child'), { recursive: true });
    await assert.rejects(store.put('fail/target', Buffer.from('x')), (err: unknown) => {
      assert.ok(err instanceof StoreError && !(err instanceof ObjectNotFoundError));
      assert.equal(err.key, 'fail/target');
      assert.ok(err.cause !== undefined);
      return true;
    });
    assert.deepEqual(await readdir(join(root, 'fail')), ['target']);
  });

  it('names the key and sizes when a range runs past the end', async () => {
    await store.put('range/obj', Buffer.alloc(100));
    await assert.rejects(store.get('range/obj', { range: { offset: 90, length: 20 } }), /range\/obj.*90.*20.*100/);
  });

  it('reads a range into a given buffer with room, and into a new one without; overlapping ranged reads agree', async () => {
    const data = Buffer.from(Array.from({ length: 4096 }, (_, i) => i % 251));
    await store.put('into/obj', data);
    const into = Buffer.alloc(1024, 0xee);
    const got = await store.get('into/obj', { range: { offset: 100, length: 1000 }, into });
    assert.equal(got.buffer, into.buffer, 'read into the buffer given');
    assert.ok(got.equals(data.subarray(100, 1100)));
    const small = Buffer.alloc(10);
    const fresh = await store.get('into/obj', { range: { offset: 0, length: 100 }, into: small });
    assert.notEqual(fresh.buffer, small.buffer, 'a buffer too small is not used');
    assert.ok(fresh.equals(data.subarray(0, 100)));
    const parts = await Promise.all([0, 1024, 2048, 3072].map((o) => store.get('into/obj', { range: { offset: o, length: 1024 } })));
    assert.ok(Buffer.concat(parts).equals(data), 'ranged reads sharing a handle return their own bytes');
    await assert.rejects(store.get('into/missing', { range: { offset: 0, length: 1 } }), ObjectNotFoundError);
  });

  it('lists nothing when the root does not exist yet, and creates it on put', async () => {
    const missing = new FileObjectStore(join(root, 'not-yet'));
    assert.deepEqual(await listAll(missing, ''), []);
    await assert.rejects(missing.get('a'), ObjectNotFoundError);
    await missing.delete('a');
    await missing.put('a', Buffer.from('1'));
    assert.deepEqual((await listAll(missing, '')).map((i) => i.key), ['a']);
  });

  it('prunes directories emptied by delete but keeps the root', async () => {
    const own = new FileObjectStore(join(root, 'prune'));
    await own.put('p/q/r', Buffer.from('1'));
    await own.put('p/s', Buffer.from('2'));
    await own.delete('p/q/r');
    assert.deepEqual(await readdir(join(root, 'prune', 'p')), ['s']);
    await own.delete('p/s');
    assert.deepEqual(await readdir(join(root, 'prune')), []);
  });

  it('keeps puts working while deletes prune the same directory', async () => {
    const own = new FileObjectStore(join(root, 'race'));
    for (let i = 0; i < 300; i++) {
      await Promise.all([own.put(`d/e/${i}`, Buffer.from('x')), own.delete(`d/e/${i - 1}`)]);
    }
    assert.deepEqual((await listAll(own, '')).map((info) => info.key), ['d/e/299']);
  });

  it('translates fs errors by code', () => {
    const fsError = (code: string) => Object.assign(new Error(`${code}: boom`), { code });
    const busy = fsErrorToStoreError(fsError('EBUSY'), 'get', 'k', 'file:///r');
    assert.ok(busy instanceof StoreError && busy.retryable && busy.key === 'k');
    assert.equal(fsErrorToStoreError(fsError('EMFILE'), 'put', 'k', 'file:///r').message.includes('put k in file:///r'), true);
    assert.equal((fsErrorToStoreError(fsError('EMFILE'), 'put', 'k', 'file:///r') as StoreError).retryable, true);
    assert.equal((fsErrorToStoreError(fsError('ENOSPC'), 'put', 'k', 'file:///r') as StoreError).retryable, false);
    assert.ok(fsErrorToStoreError(fsError('ENOENT'), 'get', 'k', 'file:///r') instanceof ObjectNotFoundError);
    const missingOnPut = fsErrorToStoreError(fsError('ENOENT'), 'put', 'k', 'file:///r');
    assert.ok(missingOnPut instanceof StoreError && !(missingOnPut instanceof ObjectNotFoundError));
  });
  it('defers pack durability to the next flush or non-pack put, and a flush survives deleted packs', async () => {
    const root = await mkdtemp(join(tmpdir(), 'ck-flush-'));
    try {
      const store = new FileObjectStore(root);
      const calls: string[] = [];
      const flush = store.flush.bind(store);
      store.flush = async (o) => {
        calls.push('flush');
        await flush(o);
      };
      await store.put('packs/aa/p1', Buffer.from('one'), { kind: 'pack' });
      await store.put('packs/aa/p2', Buffer.from('two'), { kind: 'pack' });
      assert.deepEqual(calls, [], 'a pack put must not wait for durability');
      await store.delete('packs/aa/p2');
      await store.put('index/i1', Buffer.from('idx'), { kind: 'index' });
      assert.deepEqual(calls, ['flush'], 'a non-pack put must first make earlier packs durable');
      assert.equal((await store.get('packs/aa/p1')).toString(), 'one');
      await store.flush();
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
