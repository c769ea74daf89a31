// Byte streams (database exports): content-defined chunks deduplicate shifted dumps and restore exactly.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { backupResource } from '../../core/engine/backup.ts';
import { restoreStream } from '../../core/engine/stream-restore.ts';
import { verifyRepository } from '../../core/maintenance/verify.ts';
import { chunkStream, gearTable } from '../../core/repo/stream-chunker.ts';
import { prng, mixedImage } from '../support/images.ts';
import { makeRepo } from '../support/repo-fixture.ts';

const resource = { id: 'db-1', kind: 'database' as const, provider: 'test' };

async function* pieces(data: Buffer, size = 100_003): AsyncGenerator<Uint8Array> {
  for (let o = 0; o < data.length; o += size) yield data.subarray(o, o + size);
}

function dump(seed: string, size: number): Buffer {
  let text = '';
  const r = prng(seed, size / 16);
  for (let i = 0; text.length < size; i++) text += `INSERT INTO orders VALUES (${r.readUInt32LE((i * 4) % (r.length - 4))}, 'customer ${i % 977}', ${i * 7 % 1000}.${i % 100});\n`;
  return Buffer.from(text.slice(0, size));
}

describe('byte streams', () => {
  it('cuts at content, so a 7-byte shift changes only the first chunks', async () => {
    const ctx = await makeRepo();
    const gear = gearTable(ctx.repo.master);
    const a = mixedImage('s', 16 * 1024 * 1024);
    const b = Buffer.concat([Buffer.from('SHIFTED'), a]);
    const ids = async (d: Buffer) => {
      const out: string[] = [];
      for await (const c of chunkStream(pieces(d), gear)) out.push(c.toString('base64').slice(0, 40) + c.length);
      return out;
    };
    const ca = await ids(a);
    const cb = await ids(b);
    const shared = cb.filter((x) => ca.includes(x)).length;
    assert.ok(ca.length >= 4, `expected several chunks, got ${ca.length}`);
    assert.ok(shared >= ca.length - 2, `only ${shared} of ${ca.length} chunks survive a 7-byte shift`);
  });

  it('backs up a dump, deduplicates a shifted one, and restores both exactly', async () => {
    const ctx = await makeRepo();
    const day1 = dump('d', 24 * 1024 * 1024);
    const day2 = Buffer.concat([Buffer.from('-- header line added\n'), day1.subarray(0, 12_000_000), Buffer.from('INSERT new row;\n'), day1.subarray(12_000_000)]);
    const c = { repo: ctx.repo, index: await ctx.repo.loadIndex(), source: null as never, processor: ctx.processor };
    const m1 = await backupResource(c, { resource, disks: [], streams: [{ name: 'dump.sql', source: pieces(day1) }] });
    const m2 = await backupResource({ ...c, index: await ctx.repo.loadIndex() }, { resource, parent: m1, disks: [], streams: [{ name: 'dump.sql', source: pieces(day2) }] });
    assert.ok(m2.stats.bytesNew < day2.length * 0.3, `second dump stored ${m2.stats.bytesNew} new bytes of ${day2.length}`);
    assert.ok(m2.stats.chunksReused > 0);
    const index = await ctx.repo.loadIndex();
    for (const [m, expect] of [[m1, day1], [m2, day2]] as const) {
      const parts: Buffer[] = [];
      await restoreStream({ repo: ctx.repo, index, processor: ctx.processor }, m, 'dump.sql', async (d) => void parts.push(Buffer.from(d)));
      assert.ok(Buffer.concat(parts).equals(expect), `stream of ${m.id} differs`);
    }
    const report = await verifyRepository(ctx.repo, ctx.processor, { full: true });
    assert.deepEqual(report.problems, []);
  });

  it('handles an empty stream and names a missing one', async () => {
    const ctx = await makeRepo();
    const c = { repo: ctx.repo, index: await ctx.repo.loadIndex(), source: null as never, processor: ctx.processor };
    const m = await backupResource(c, { resource, disks: [], streams: [{ name: 'empty', source: pieces(Buffer.alloc(0)) }] });
    const parts: Buffer[] = [];
    await restoreStream({ repo: ctx.repo, index: await ctx.repo.loadIndex(), processor: ctx.processor }, m, 'empty', async (d) => void parts.push(d));
    assert.equal(Buffer.concat(parts).length, 0);
    await assert.rejects(restoreStream({ repo: ctx.repo, index: await ctx.repo.loadIndex(), processor: ctx.processor }, m, 'nope', async () => undefined), /no stream "nope"/);
  });
});
