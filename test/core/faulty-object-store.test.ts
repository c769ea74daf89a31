// Tests FaultyObjectStore: the contract with no faults, and each injected fault's exact effect.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FaultyObjectStore, InjectedFaultError, SimulatedCrashError } from '../../core/store/faulty-object-store.ts';
import { listAll, StoreError, type ObjectStore } from '../../core/store/object-store.ts';
import { MemoryObjectStore } from '../../providers/memory/memory-object-store.ts';
import { describeObjectStoreContract } from '../support/object-store-contract.ts';

describeObjectStoreContract('FaultyObjectStore without faults', async () => ({
  store: new FaultyObjectStore(new MemoryObjectStore()),
  cleanup: async () => {},
}));

function setup(): { inner: MemoryObjectStore; store: FaultyObjectStore } {
  const inner = new MemoryObjectStore();
  return { inner, store: new FaultyObjectStore(inner) };
}

const keysOf = async (store: ObjectStore, prefix = '') => (await listAll(store, prefix)).map((i) => i.key).sort();
const put = (store: ObjectStore, key: string, text = key) => store.put(key, Buffer.from(text));

describe('FaultyObjectStore', () => {
  it('passes description and capabilities through', () => {
    const { inner, store } = setup();
    assert.equal(store.description, inner.description);
    assert.deepEqual(store.capabilities, inner.capabilities);
  });

  it('counts calls of each kind', async () => {
    const { store } = setup();
    await put(store, 'a');
    await put(store, 'b');
    await store.get('a');
    await store.stat('a');
    await listAll(store, '');
    await store.delete('a');
    assert.deepEqual([store.puts, store.gets, store.stats, store.lists, store.deletes], [2, 1, 1, 1, 1]);
    store.resetCounters();
    assert.deepEqual([store.puts, store.gets, store.stats, store.lists, store.deletes], [0, 0, 0, 0, 0]);
  });

  describe('failAfterPuts', () => {
    it("'throw' fails the (n+1)-th put once, writing nothing", async () => {
      const { inner, store } = setup();
      await put(store, 'before');
      store.failAfterPuts(2, 'throw');
      await put(store, 'p1');
      await put(store, 'p2');
      await assert.rejects(put(store, 'p3'), (err: unknown) => err instanceof InjectedFaultError && err instanceof StoreError && !err.retryable && err.key === 'p3');
      await put(store, 'p4');
      assert.deepEqual(await keysOf(inner), ['before', 'p1', 'p2', 'p4']);
      assert.equal(store.crashed, false);
      assert.equal(store.puts, 5);
    });

    it("'throw' can raise a retryable error", async () => {
      const { store } = setup();
      store.failAfterPuts(0, 'throw', { retryable: true });
      await assert.rejects(put(store, 'x'), (err: unknown) => err instanceof InjectedFaultError && err.retryable);
    });

    it("'crash' fails that put and every later call, keeping earlier writes", async () => {
      const { inner, store } = setup();
      store.failAfterPuts(1, 'crash');
      await put(store, 'kept');
      await assert.rejects(put(store, 'lost'), SimulatedCrashError);
      assert.equal(store.crashed, true);
      await assert.rejects(put(store, 'later'), SimulatedCrashError);
      await assert.rejects(store.get('kept'), SimulatedCrashError);
      await assert.rejects(store.stat('kept'), SimulatedCrashError);
      await assert.rejects(listAll(store, ''), SimulatedCrashError);
      await assert.rejects(store.delete('kept'), SimulatedCrashError);
      assert.deepEqual(await keysOf(inner), ['kept']);
    });

    it("'torn' writes the first half of the bytes, then behaves as a crash", async () => {
      const { inner, store } = setup();
      store.failAfterPuts(0, 'torn');
      await assert.rejects(store.put('t', Buffer.from('0123456789')), SimulatedCrashError);
      assert.equal((await inner.get('t')).toString(), '01234');
      await assert.rejects(store.get('t'), SimulatedCrashError);
      await assert.rejects(put(store, 'u'), SimulatedCrashError);
      assert.deepEqual(await keysOf(inner), ['t']);
    });

    it('reset() revives the store on what survived', async () => {
      const { store } = setup();
      store.failAfterPuts(1, 'crash');
      await put(store, 'a');
      await assert.rejects(put(store, 'b'), SimulatedCrashError);
      store.reset();
      assert.equal(store.crashed, false);
      assert.deepEqual(await keysOf(store), ['a']);
      await put(store, 'b');
      assert.deepEqual(await keysOf(store), ['a', 'b']);
    });

    it('rejects a negative count', () => {
      const { store } = setup();
      assert.throws(() => store.failAfterPuts(-1), RangeError);
    });
  });

  describe('failAfterDeletes', () => {
    it("'throw' fails one delete, deleting nothing", async () => {
      const { inner, store } = setup();
      for (const k of ['a', 'b', 'c']) await put(store, k);
      store.failAfterDeletes(1, 'throw');
      await store.delete('a');
      await assert.rejects(store.delete('b'), InjectedFaultError);
      await store.delete('c');
      assert.deepEqual(await keysOf(inner), ['b']);
    });

    it("'crash' fails that delete and everything after", async () => {
      const { inner, store } = setup();
      for (const k of ['a', 'b']) await put(store, k);
      store.failAfterDeletes(0, 'crash');
      await assert.rejects(store.delete('a'), SimulatedCrashError);
      await assert.rejects(put(store, 'c'), SimulatedCrashError);
      assert.deepEqual(await keysOf(inner), ['a', 'b']);
    });
  });

  describe('crash()', () => {
    it('stops a listing already under way', async () => {
      const { store } = setup();
      for (const k of ['a', 'b', 'c']) await put(store, k);
      const seen: string[] = [];
      await assert.rejects(async () => {
        for await (const info of store.list('')) {
          seen.push(info.key);
          store.crash();
        }
      }, SimulatedCrashError);
      assert.equal(seen.length, 1);
    });
  });

  describe('staleList', () => {
    it('hides objects written after the call from the next list only', async () => {
      const { store } = setup();
      await put(store, 'old');
      store.staleList();
      await put(store, 'new');
      assert.deepEqual(await keysOf(store), ['old']);
      assert.deepEqual(await keysOf(store), ['new', 'old']);
      assert.equal((await store.get('new')).toString(), 'new');
    });

    it('with prefixes, hides only objects under them and waits for an overlapping list', async () => {
      const { store } = setup();
      store.staleList(['packs/']);
      await put(store, 'packs/p1');
      await put(store, 'index/i1');
      assert.deepEqual(await keysOf(store, 'index/'), ['index/i1']);
      assert.deepEqual(await keysOf(store, ''), ['index/i1']);
      assert.deepEqual(await keysOf(store, ''), ['index/i1', 'packs/p1']);
    });
  });

  it('drives a crash-at-every-put loop', async () => {
    // A toy three-write operation; after a crash at write i exactly i objects must survive.
    const operation = async (store: ObjectStore) => {
      for (const k of ['w/1', 'w/2', 'w/3']) await put(store, k);
    };
    const probe = setup().store;
    await operation(probe);
    assert.equal(probe.puts, 3);
    for (let i = 0; i < probe.puts; i++) {
      const { inner, store } = setup();
      store.failAfterPuts(i, 'crash');
      await assert.rejects(operation(store), SimulatedCrashError);
      assert.deepEqual(await keysOf(inner), ['w/1', 'w/2', 'w/3'].slice(0, i));
    }
  });
});
