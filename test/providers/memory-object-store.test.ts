// Runs the ObjectStore contract over MemoryObjectStore, plus its clock injection.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../../core/clock.ts';
import { listAll } from '../../core/store/object-store.ts';
import { MemoryObjectStore } from '../../providers/memory/memory-object-store.ts';
import { describeObjectStoreContract } from '../support/object-store-contract.ts';

describeObjectStoreContract('MemoryObjectStore', async () => ({ store: new MemoryObjectStore(), cleanup: async () => {} }));

describe('MemoryObjectStore', () => {
  it('describes itself as memory:// with no optional capabilities', () => {
    const store = new MemoryObjectStore();
    assert.equal(store.description, 'memory://');
    assert.deepEqual(store.capabilities, { conditionalWrites: false, objectLock: false, storageTiers: false });
  });

  it('stamps lastModified from the injected clock', async () => {
    const clock = new ManualClock(Date.UTC(2030, 5, 1));
    const store = new MemoryObjectStore({ clock });
    await store.put('a', Buffer.from('1'));
    clock.advance(60_000);
    await store.put('b', Buffer.from('2'));
    assert.equal((await store.stat('a')).lastModified, Date.UTC(2030, 5, 1));
    assert.equal((await store.stat('b')).lastModified, Date.UTC(2030, 5, 1) + 60_000);
    const listed = Object.fromEntries((await listAll(store, '')).map((info) => [info.key, info.lastModified]));
    assert.deepEqual(listed, { a: Date.UTC(2030, 5, 1), b: Date.UTC(2030, 5, 1) + 60_000 });
  });

  it('returns a copy for ranged reads', async () => {
    const store = new MemoryObjectStore();
    await store.put('a', Buffer.from('abcdef'));
    const part = await store.get('a', { range: { offset: 1, length: 3 } });
    part.fill(0x7a);
    assert.equal((await store.get('a')).toString(), 'abcdef');
  });

  it('lists a snapshot, unaffected by puts during iteration', async () => {
    const store = new MemoryObjectStore();
    await store.put('p/1', Buffer.from('1'));
    await store.put('p/2', Buffer.from('2'));
    const seen: string[] = [];
    for await (const info of store.list('p/')) {
      seen.push(info.key);
      await store.put(`p/new-${seen.length}`, Buffer.from('n'));
    }
    assert.deepEqual(seen.sort(), ['p/1', 'p/2']);
  });
});
