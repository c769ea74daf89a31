// Scale-out repositories: the store contract, placement policies, maintenance and evacuation.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { backupResource } from '../../core/engine/backup.ts';
import { restoreDisk } from '../../core/engine/restore.ts';
import { verifyRepository } from '../../core/maintenance/verify.ts';
import { evacuateExtent } from '../../core/store/evacuate-extent.ts';
import { listAll } from '../../core/store/object-store.ts';
import { ScaleOutObjectStore, type Extent } from '../../core/store/scale-out-store.ts';
import { MemoryObjectStore } from '../../providers/memory/memory-object-store.ts';
import { BufferSink, BufferSnapshotSource } from '../support/buffer-volume.ts';
import { mixedImage } from '../support/images.ts';
import { describeObjectStoreContract } from '../support/object-store-contract.ts';
import { makeRepo } from '../support/repo-fixture.ts';

function extents(n: number): Extent[] {
  return Array.from({ length: n }, (_, i) => ({ id: `e${i}`, store: new MemoryObjectStore() }));
}

describeObjectStoreContract('ScaleOutObjectStore over 3 memory extents', async () => ({
  store: new ScaleOutObjectStore({ extents: extents(3), policy: 'data-locality' }),
  cleanup: async () => undefined,
}));

async function packsOn(e: Extent): Promise<number> {
  return (await listAll(e.store, 'packs/')).length;
}

describe('scale-out placement', () => {
  it('keeps a chain on one extent with data locality, and splits fulls and incrementals with performance', () => {
    const locality = new ScaleOutObjectStore({ extents: extents(3), policy: 'data-locality' });
    const perf = new ScaleOutObjectStore({ extents: extents(3), policy: 'performance' });
    const chain = { group: 'aws/123/eu-west-1/vol-1', role: 'full' as const };
    const l1 = locality.placementOrder(chain, 'packs/aa/x', 10)[0];
    const l2 = locality.placementOrder({ ...chain, role: 'incremental' }, 'packs/bb/y', 10)[0];
    assert.equal(l1, l2, 'data locality moved an incremental away from its full');
    const p1 = perf.placementOrder(chain, 'packs/aa/x', 10)[0];
    const p2 = perf.placementOrder({ ...chain, role: 'incremental' }, 'packs/bb/y', 10)[0];
    assert.notEqual(p1, p2, 'performance placed the full and the incremental on one extent');
  });

  it('puts a chain\'s full and incremental packs on different extents with the performance policy', async () => {
    const ex = extents(2);
    const store = new ScaleOutObjectStore({ extents: ex, policy: 'performance' });
    const ctx = await makeRepo({ store });
    const source = new BufferSnapshotSource(64 * 1024);
    const day1 = mixedImage('perf', 1024 * 1024);
    const s1 = source.snapshot('v', day1);
    const resource = { id: 'v', kind: 'volume' as const, provider: 'test' };
    const full = await backupResource({ repo: ctx.repo, index: await ctx.repo.loadIndex(), source, processor: ctx.processor }, { resource, disks: [{ name: 'root', snapshot: s1 }] });
    const afterFull = await Promise.all(ex.map(packsOn));
    const day2 = Buffer.from(day1);
    mixedImage('perf-2', 64 * 1024).copy(day2, 128 * 1024);
    const s2 = source.snapshot('v', day2, s1.snapshotId, [2]);
    await backupResource({ repo: ctx.repo, index: await ctx.repo.loadIndex(), source, processor: ctx.processor }, { resource, parent: full, disks: [{ name: 'root', snapshot: s2, baseSnapshot: s1 }] });
    const afterIncr = await Promise.all(ex.map(packsOn));
    const fullOn = afterFull.findIndex((n) => n > 0);
    assert.equal(afterFull.filter((n) => n > 0).length, 1, `full spread over extents: ${afterFull}`);
    assert.equal(afterIncr[fullOn], afterFull[fullOn], 'the incremental wrote to the full\'s extent');
    assert.ok(afterIncr[1 - fullOn] > 0, 'the incremental wrote nothing to the other extent');
  });

  it('keeps each extent under its task limit, waiting when every extent is busy', async () => {
    let active = [0, 0];
    let peak = [0, 0];
    const slow = (n: number): Extent => {
      const inner = new MemoryObjectStore();
      const store = Object.create(inner) as MemoryObjectStore;
      store.put = async (k, d, o) => {
        active[n]++;
        peak[n] = Math.max(peak[n], active[n]);
        await new Promise((r) => setTimeout(r, 5));
        active[n]--;
        return inner.put(k, d, o);
      };
      return { id: `e${n}`, store, maxTasks: 1 };
    };
    const ex = [slow(0), slow(1)];
    const store = new ScaleOutObjectStore({ extents: ex, policy: 'data-locality' });
    await Promise.all(Array.from({ length: 12 }, (_, i) => store.put(`packs/0${i % 10}/p${i}`, Buffer.alloc(10), { placement: { group: 'one-chain', role: 'full' } })));
    assert.deepEqual(peak, [1, 1], `an extent ran more than one write at once: ${peak}`);
    assert.equal((await packsOn(ex[0])) + (await packsOn(ex[1])), 12);
    active = [0, 0];
    peak = [0, 0];
  });

  it('never places new data on an extent in maintenance or without room', async () => {
    const ex = extents(3);
    ex[1].maintenance = true;
    ex[2].capacityBytes = 10;
    const store = new ScaleOutObjectStore({ extents: ex, policy: 'data-locality' });
    for (let i = 0; i < 20; i++) await store.put(`packs/${i.toString(16).padStart(2, '0')}/p${i}`, Buffer.alloc(100, i), { placement: { group: `g${i}`, role: 'full' } });
    assert.equal(await packsOn(ex[1]), 0);
    assert.equal(await packsOn(ex[2]), 0);
    assert.equal(await packsOn(ex[0]), 20);
  });

  it('backs up across extents, evacuates one without breaking any restore point, and verifies clean', async () => {
    const ex = extents(3);
    const store = new ScaleOutObjectStore({ extents: ex, policy: 'data-locality' });
    const ctx = await makeRepo({ store });
    const source = new BufferSnapshotSource(64 * 1024);
    const images = ['a', 'b', 'c', 'd'].map((s) => mixedImage(`so-${s}`, 1024 * 1024 + 99));
    const points = [];
    for (const [i, image] of images.entries()) {
      const snap = source.snapshot(`vol-${i}`, image);
      points.push(await backupResource({ repo: ctx.repo, index: await ctx.repo.loadIndex(), source, processor: ctx.processor }, { resource: { id: `vol-${i}`, kind: 'volume', provider: 'test' }, disks: [{ name: 'root', snapshot: snap }] }));
    }
    const spread = await Promise.all(ex.map(packsOn));
    assert.ok(spread.filter((n) => n > 0).length >= 2, `packs landed on only one extent: ${spread}`);
    const victim = spread[1] > 0 ? 'e1' : 'e2';
    const before = spread[victim === 'e1' ? 1 : 2];
    await assert.rejects(evacuateExtent(store, victim), /maintenance first/);
    ex.find((e) => e.id === victim)!.maintenance = true;
    const moved = await evacuateExtent(store, victim);
    assert.equal(moved.packs, before);
    assert.equal(await packsOn(ex.find((e) => e.id === victim)!), 0);
    for (const [i, m] of points.entries()) {
      const sink = new BufferSink();
      await restoreDisk({ repo: ctx.repo, index: await ctx.repo.loadIndex(), processor: ctx.processor }, m, 'root', sink);
      assert.ok(sink.data.equals(images[i]), `restore point ${i} differs after evacuation`);
    }
    const report = await verifyRepository(ctx.repo, ctx.processor, { full: true });
    assert.deepEqual(report.problems, []);
    await assert.rejects(evacuateExtent(store, 'e0'), /metadata/);
  });
});
