// Forget: retention is applied per resource group; dryRun decides without deleting.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { runBackup } from '../../core/engine/backup-session.ts';
import { forgetPoints, resourceGroup } from '../../core/maintenance/forget.ts';
import type { Manifest, ResourceRef } from '../../core/repo/manifest.ts';
import { prng } from '../support/images.ts';
import { assertPoints, dumpStore, newCtx, resource, type Ctx } from '../support/repo-scenarios.ts';

const HOUR = 3_600_000;

async function point(ctx: Ctx, ref: ResourceRef, seed: string): Promise<{ m: Manifest; image: Buffer }> {
  const image = prng(seed, 96 * 1024);
  const snap = ctx.source.snapshot(ref.id, image);
  const m = await runBackup({ repo: ctx.repo, source: ctx.source, processor: ctx.processor, request: { resource: ref, disks: [{ name: 'root', snapshot: snap }] } });
  ctx.clock.advance(HOUR);
  return { m, image };
}

/** vol-1 and vol-2 backed up in turn, three points each, an hour apart. */
async function interleaved() {
  const ctx = await newCtx();
  const points: Array<{ m: Manifest; image: Buffer }> = [];
  for (let i = 0; i < 3; i++) for (const id of ['vol-1', 'vol-2']) points.push(await point(ctx, resource(id), `${id}/${i}`));
  const of = (id: string) => points.filter((p) => p.m.resource.id === id);
  return { ctx, points, of };
}

describe('forgetPoints', () => {
  it('keepLast 2 keeps the two newest of each resource, not the two newest overall', async () => {
    const { ctx, of } = await interleaved();
    const decisions = await forgetPoints(ctx.repo, { keepLast: 2 });
    assert.deepEqual(decisions.map((d) => d.resource), [resourceGroup(of('vol-1')[0].m), resourceGroup(of('vol-2')[0].m)]);
    for (const [d, id] of [[decisions[0], 'vol-1'], [decisions[1], 'vol-2']] as const) {
      const mine = of(id);
      assert.deepEqual(d.keep.map((k) => k.id).sort(), [mine[1].m.id, mine[2].m.id].sort(), `${id} keeps`);
      assert.deepEqual(d.remove, [mine[0].m.id], `${id} removes`);
      for (const k of d.keep) assert.ok(k.reasons.length > 0, 'a kept point has no reason');
    }
    const kept = [...of('vol-1').slice(1), ...of('vol-2').slice(1)];
    await assertPoints(ctx.repo, new Map(kept.map((p) => [p.m.id, p.image])), 'after forget');
  });

  it('dryRun returns the same decisions and deletes nothing', async () => {
    const { ctx, points } = await interleaved();
    const before = await dumpStore(ctx.store);
    const dry = await forgetPoints(ctx.repo, { keepLast: 1 }, { dryRun: true });
    assert.equal(dry.flatMap((d) => d.remove).length, 4);
    assert.deepEqual(await dumpStore(ctx.store), before, 'a dry run changed the store');
    assert.equal((await ctx.repo.listPointIds()).length, points.length);
    const real = await forgetPoints(ctx.repo, { keepLast: 1 });
    assert.deepEqual(real, dry, 'the real run decided differently');
    assert.equal((await ctx.repo.listPointIds()).length, 2);
  });

  it('resourceId limits forget to one resource', async () => {
    const { ctx, of } = await interleaved();
    const decisions = await forgetPoints(ctx.repo, { keepLast: 1 }, { resourceId: 'vol-2' });
    assert.equal(decisions.length, 1);
    assert.deepEqual(decisions[0].remove.sort(), of('vol-2').slice(0, 2).map((p) => p.m.id).sort());
    const left = await ctx.repo.listPointIds();
    assert.deepEqual(left, [...of('vol-1'), of('vol-2')[2]].map((p) => p.m.id).sort());
  });

  it('the same resource id in two accounts forms two groups', async () => {
    const ctx = await newCtx();
    const a = { ...resource('vol-1'), account: '111' };
    const b = { ...resource('vol-1'), account: '222' };
    const pa = [await point(ctx, a, 'a0'), await point(ctx, a, 'a1')];
    const pb = [await point(ctx, b, 'b0'), await point(ctx, b, 'b1')];
    const decisions = await forgetPoints(ctx.repo, { keepLast: 1 });
    assert.equal(decisions.length, 2);
    assert.deepEqual(decisions.flatMap((d) => d.remove).sort(), [pa[0].m.id, pb[0].m.id].sort());
    assert.deepEqual(await ctx.repo.listPointIds(), [pa[1].m.id, pb[1].m.id].sort());
  });

  it('keepWithin counts from the repository clock, per resource', async () => {
    const { ctx, of } = await interleaved();
    // Points are 6h..1h old (vol-1: 6h, 4h, 2h; vol-2: 5h, 3h, 1h); "3h" keeps those at most 3h old.
    const decisions = await forgetPoints(ctx.repo, { keepWithin: '3h' });
    const removed = decisions.flatMap((d) => d.remove).sort();
    assert.deepEqual(removed, [of('vol-1')[0].m.id, of('vol-1')[1].m.id, of('vol-2')[0].m.id].sort());
  });
});
