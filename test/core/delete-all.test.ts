// deleteAll: one batch call for stores that have one (S3 DeleteObjects), single deletes otherwise.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { deleteAll, listAll, type IoOptions } from '../../core/store/object-store.ts';
import { RetryingObjectStore } from '../../core/store/retrying-object-store.ts';
import { MemoryObjectStore } from '../../providers/memory/memory-object-store.ts';

class BatchingStore extends MemoryObjectStore {
  batches: string[][] = [];
  singles = 0;
  async deleteMany(keys: readonly string[], options?: IoOptions): Promise<void> {
    this.batches.push([...keys]);
    for (const k of keys) await super.delete(k, options);
  }
  override async delete(key: string, options?: IoOptions): Promise<void> {
    this.singles++;
    return super.delete(key, options);
  }
}

describe('deleteAll', () => {
  it('uses the batch call, also through the retrying decorator', async () => {
    const inner = new BatchingStore();
    for (let i = 0; i < 5; i++) await inner.put(`packs/aa/p${i}`, Buffer.from('x'));
    await deleteAll(new RetryingObjectStore(inner), ['packs/aa/p0', 'packs/aa/p1', 'packs/aa/missing']);
    assert.deepEqual(inner.batches, [['packs/aa/p0', 'packs/aa/p1', 'packs/aa/missing']]);
    assert.equal(inner.singles, 0, 'no single delete requests beside the batch');
    assert.deepEqual((await listAll(inner, 'packs/')).map((i) => i.key).sort(), ['packs/aa/p2', 'packs/aa/p3', 'packs/aa/p4']);
  });

  it('falls back to single deletes and does nothing for no keys', async () => {
    const store = new MemoryObjectStore();
    await store.put('packs/aa/p0', Buffer.from('x'));
    await deleteAll(store, []);
    await deleteAll(store, ['packs/aa/p0']);
    assert.deepEqual(await listAll(store, 'packs/'), []);
  });
});
