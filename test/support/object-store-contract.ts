// The ObjectStore contract suite: every adapter runs it, so the core can rely on the port's doc comment.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { AbortedError } from '../../core/errors.ts';
import { listAll, ObjectNotFoundError, StoreError, type ObjectInfo, type ObjectStore } from '../../core/store/object-store.ts';

export interface ContractFixture {
  store: ObjectStore;
  cleanup(): Promise<void>;
}

const INVALID_KEYS = ['', '/a', 'a/', 'a//b', '.', '..', '../x', 'a/../b', './a', 'a b', 'a/b\\c', 'é', 'x'.repeat(1025)];

/** Sorted keys of a listing, after checking it names each key once. */
async function listKeys(store: ObjectStore, prefix: string): Promise<string[]> {
  const infos = await listAll(store, prefix);
  const keys = infos.map((info) => info.key).sort();
  assert.equal(new Set(keys).size, keys.length, `list(${JSON.stringify(prefix)}) yielded a key twice: ${keys.join(', ')}`);
  return keys;
}

async function putAll(store: ObjectStore, keys: string[], concurrency = 32): Promise<void> {
  for (let i = 0; i < keys.length; i += concurrency) {
    await Promise.all(keys.slice(i, i + concurrency).map((key) => store.put(key, Buffer.from(key))));
  }
}

function assertNotFound(key: string): (err: unknown) => boolean {
  return (err) => {
    assert.ok(err instanceof ObjectNotFoundError, `expected ObjectNotFoundError, got ${String(err)}`);
    assert.equal(err.key, key);
    assert.equal(err.retryable, false);
    return true;
  };
}

function assertStoreError(err: unknown): boolean {
  assert.ok(err instanceof StoreError, `expected StoreError, got ${String(err)}`);
  return true;
}

export function describeObjectStoreContract(name: string, makeStore: () => Promise<ContractFixture>): void {
  describe(`ObjectStore contract: ${name}`, () => {
    let fixture: ContractFixture;
    let store: ObjectStore;
    beforeEach(async () => {
      fixture = await makeStore();
      store = fixture.store;
    });
    afterEach(async () => {
      await fixture.cleanup();
    });

    it('describes itself and declares capabilities', () => {
      assert.ok(store.description.length > 0);
      for (const flag of ['conditionalWrites', 'objectLock', 'storageTiers'] as const) {
        assert.equal(typeof store.capabilities[flag], 'boolean');
      }
    });

    describe('put and get', () => {
      for (const [label, size] of [['empty', 0], ['1 byte', 1], ['5 MiB', 5 * 1024 * 1024]] as const) {
        it(`round-trips a ${label} object`, async () => {
          const data = randomBytes(size);
          await store.put('data/object', data);
          const back = await store.get('data/object');
          assert.ok(Buffer.isBuffer(back));
          assert.equal(back.length, size);
          assert.ok(back.equals(data), 'bytes differ');
        });
      }

      it('accepts a plain Uint8Array', async () => {
        await store.put('u8', new Uint8Array([1, 2, 3]));
        assert.deepEqual([...(await store.get('u8'))], [1, 2, 3]);
      });

      it('overwrites an existing key', async () => {
        await store.put('k', Buffer.from('first version'));
        await store.put('k', Buffer.from('second'));
        assert.equal((await store.get('k')).toString(), 'second');
        assert.equal((await store.stat('k')).size, 6);
        assert.deepEqual(await listKeys(store, ''), ['k']);
      });

      it('is not affected by callers mutating the buffers they passed or received', async () => {
        const data = Buffer.from('original');
        await store.put('m', data);
        data.fill(0);
        const first = await store.get('m');
        first.fill(0);
        assert.equal((await store.get('m')).toString(), 'original');
      });

      it('keeps keys independent', async () => {
        await store.put('a/x', Buffer.from('one'));
        await store.put('a/y', Buffer.from('two'));
        assert.equal((await store.get('a/x')).toString(), 'one');
        assert.equal((await store.get('a/y')).toString(), 'two');
      });
    });

    describe('ranged get', () => {
      const data = Buffer.from(Array.from({ length: 1000 }, (_, i) => (i * 7) % 256));
      beforeEach(async () => {
        await store.put('r/obj', data);
      });
      const cases: Array<[string, number, number]> = [
        ['start', 0, 10],
        ['middle', 100, 50],
        ['end', 990, 10],
        ['whole object', 0, 1000],
        ['zero length inside', 500, 0],
        ['zero length at end', 1000, 0],
      ];
      for (const [label, offset, length] of cases) {
        it(`reads the ${label}`, async () => {
          const part = await store.get('r/obj', { range: { offset, length } });
          assert.equal(part.length, length);
          assert.ok(part.equals(data.subarray(offset, offset + length)));
        });
      }
      for (const [label, offset, length] of [['crossing the end', 995, 10], ['starting past the end', 2000, 1], ['negative offset', -1, 5]] as const) {
        it(`rejects a range ${label}`, async () => {
          await assert.rejects(store.get('r/obj', { range: { offset, length } }), (err: unknown) => {
            assertStoreError(err);
            assert.ok(!(err instanceof ObjectNotFoundError));
            assert.equal((err as StoreError).key, 'r/obj');
            return true;
          });
        });
      }
      it('reports a ranged get of a missing object as not found', async () => {
        await assert.rejects(store.get('r/none', { range: { offset: 0, length: 1 } }), assertNotFound('r/none'));
      });
    });

    describe('stat', () => {
      it('reports key and size', async () => {
        for (const size of [0, 1, 1000]) {
          await store.put(`s/${size}`, randomBytes(size));
          const info = await store.stat(`s/${size}`);
          assert.equal(info.key, `s/${size}`);
          assert.equal(info.size, size);
        }
      });

      it('stamps lastModified with the time of the put', async () => {
        const before = Date.now();
        await store.put('t', Buffer.from('x'));
        const after = Date.now();
        const info = await store.stat('t');
        // Slack for coarse file-system timestamps and the store's clock differing a little from ours.
        assert.ok(info.lastModified >= before - 5000 && info.lastModified <= after + 5000, `lastModified ${info.lastModified} not near ${before}`);
        const [listed] = await listAll(store, 't');
        assert.equal(listed.lastModified, info.lastModified);
      });
    });

    describe('missing objects', () => {
      it('get throws ObjectNotFoundError naming the key', async () => {
        await assert.rejects(store.get('no/such/key'), assertNotFound('no/such/key'));
      });
      it('stat throws ObjectNotFoundError naming the key', async () => {
        await assert.rejects(store.stat('no/such/key'), assertNotFound('no/such/key'));
      });
      it('a key that is only a prefix of other keys is not an object', async () => {
        await store.put('dir/child', Buffer.from('x'));
        await assert.rejects(store.get('dir'), assertNotFound('dir'));
        await assert.rejects(store.stat('dir'), assertNotFound('dir'));
      });
    });

    describe('list', () => {
      const keys = ['packs/ab/1', 'packs/ab/2', 'packs/ac/3', 'packs-other/4', 'index/5', 'root'];
      beforeEach(async () => {
        await putAll(store, keys);
      });
      const cases: Array<[string, string[]]> = [
        ['', keys],
        ['packs/', ['packs/ab/1', 'packs/ab/2', 'packs/ac/3']],
        ['packs', ['packs/ab/1', 'packs/ab/2', 'packs/ac/3', 'packs-other/4']],
        ['packs/a', ['packs/ab/1', 'packs/ab/2', 'packs/ac/3']],
        ['packs/ab', ['packs/ab/1', 'packs/ab/2']],
        ['packs/ab/', ['packs/ab/1', 'packs/ab/2']],
        ['packs/ab/1', ['packs/ab/1']],
        ['r', ['root']],
        ['nothing/', []],
        ['packs/ab/1/', []],
        ['packs/zz', []],
      ];
      for (const [prefix, expected] of cases) {
        it(`prefix ${JSON.stringify(prefix)} yields ${expected.length} object(s)`, async () => {
          assert.deepEqual(await listKeys(store, prefix), [...expected].sort());
        });
      }

      it('reports sizes', async () => {
        const infos = await listAll(store, 'packs/ab/');
        const sizes = Object.fromEntries(infos.map((info: ObjectInfo) => [info.key, info.size]));
        assert.deepEqual(sizes, { 'packs/ab/1': 10, 'packs/ab/2': 10 });
      });

      it('finds deeply nested keys', async () => {
        await store.put('n/a/b/c/d/e/f', Buffer.from('deep'));
        assert.deepEqual(await listKeys(store, 'n/a/b/'), ['n/a/b/c/d/e/f']);
        assert.deepEqual(await listKeys(store, 'n/a/b/c/d/e/f'), ['n/a/b/c/d/e/f']);
      });

      it('yields every one of many objects once', async () => {
        const many = Array.from({ length: 1200 }, (_, i) => `many/${String(i).padStart(5, '0')}`);
        await putAll(store, [...many, 'manyx']);
        assert.deepEqual(await listKeys(store, 'many/'), many);
        assert.equal((await listKeys(store, 'many')).length, 1201);
      });

      it('sees an object right after its put', async () => {
        await store.put('packs/ab/new', Buffer.from('n'));
        assert.ok((await listKeys(store, 'packs/ab/')).includes('packs/ab/new'));
      });
    });

    describe('delete', () => {
      it('removes the object from get, stat and list', async () => {
        await store.put('d/1', Buffer.from('x'));
        await store.put('d/2', Buffer.from('y'));
        await store.delete('d/1');
        await assert.rejects(store.get('d/1'), assertNotFound('d/1'));
        await assert.rejects(store.stat('d/1'), assertNotFound('d/1'));
        assert.deepEqual(await listKeys(store, 'd/'), ['d/2']);
        assert.equal((await store.get('d/2')).toString(), 'y');
      });
      it('is idempotent', async () => {
        await store.put('d/1', Buffer.from('x'));
        await store.delete('d/1');
        await store.delete('d/1');
        await store.delete('never/existed');
        assert.deepEqual(await listKeys(store, ''), []);
      });
      it('allows the key to be written again', async () => {
        await store.put('d/1', Buffer.from('x'));
        await store.delete('d/1');
        await store.put('d/1', Buffer.from('again'));
        assert.equal((await store.get('d/1')).toString(), 'again');
      });
    });

    describe('invalid keys', () => {
      for (const key of INVALID_KEYS) {
        it(`rejects ${JSON.stringify(key.length > 20 ? `${key.slice(0, 10)}...(${key.length})` : key)}`, async () => {
          const notNotFound = (err: unknown) => assertStoreError(err) && !(err instanceof ObjectNotFoundError);
          await assert.rejects(store.put(key, Buffer.from('x')), notNotFound);
          await assert.rejects(store.get(key), notNotFound);
          await assert.rejects(store.stat(key), notNotFound);
          await assert.rejects(store.delete(key), notNotFound);
          assert.deepEqual(await listKeys(store, ''), []);
        });
      }
    });

    describe('cancellation', () => {
      const aborted = (): AbortSignal => {
        const controller = new AbortController();
        controller.abort();
        return controller.signal;
      };
      const isAborted = (err: unknown) => {
        assert.ok(err instanceof AbortedError, `expected AbortedError, got ${String(err)}`);
        return true;
      };
      it('rejects every call with an aborted signal', async () => {
        await store.put('c/1', Buffer.from('x'));
        await assert.rejects(store.put('c/2', Buffer.from('y'), { signal: aborted() }), isAborted);
        await assert.rejects(store.get('c/1', { signal: aborted() }), isAborted);
        await assert.rejects(store.get('c/1', { signal: aborted(), range: { offset: 0, length: 1 } }), isAborted);
        await assert.rejects(store.stat('c/1', { signal: aborted() }), isAborted);
        await assert.rejects(store.delete('c/1', { signal: aborted() }), isAborted);
        await assert.rejects(listAll(store, 'c/', { signal: aborted() }), isAborted);
        // Nothing happened: c/2 not written, c/1 not deleted.
        assert.deepEqual(await listKeys(store, 'c/'), ['c/1']);
      });
    });

    describe('concurrency', () => {
      it('keeps every one of many concurrent puts of different keys', async () => {
        const keys = Array.from({ length: 100 }, (_, i) => `conc/${i % 4}/${i}`);
        await Promise.all(keys.map((key) => store.put(key, Buffer.from(`v${key}`))));
        assert.deepEqual(await listKeys(store, 'conc/'), [...keys].sort());
        const values = await Promise.all(keys.map((key) => store.get(key)));
        values.forEach((value, i) => assert.equal(value.toString(), `v${keys[i]}`));
      });
    });
  });
}
