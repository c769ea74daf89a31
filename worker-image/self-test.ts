// The bundle's self-test (`node worker-main.js --self-test`): BLAKE3 native module, zstd and the thread pool all load and work.
import { randomBytes } from 'node:crypto';
import { Blake3Hasher } from '@napi-rs/blake-hash';
import { DEFAULT_PARAMS } from '../core/repo/config.ts';
import { CHUNK_KIND } from '../core/repo/block-codec.ts';
import { zstdCompress, zstdDecompress } from '../core/repo/zstd.ts';
import { ThreadBlockProcessor } from './thread-block-processor.ts';

/** BLAKE3 of the empty input (from the BLAKE3 test vectors). */
const BLAKE3_EMPTY = 'af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262';

export interface SelfTestResult {
  ok: boolean;
  node: string;
  checks: Record<string, string>;
}

async function check(checks: Record<string, string>, name: string, fn: () => Promise<void> | void): Promise<boolean> {
  try {
    await fn();
    checks[name] = 'ok';
    return true;
  } catch (err) {
    checks[name] = `failed: ${(err as Error).message}`;
    return false;
  }
}

function assert(cond: boolean, what: string): void {
  if (!cond) throw new Error(what);
}

export async function selfTest(): Promise<SelfTestResult> {
  const checks: Record<string, string> = {};
  let ok = await check(checks, 'blake3', () => {
    const hex = new Blake3Hasher().digest('hex');
    assert(hex === BLAKE3_EMPTY, `BLAKE3("") = ${hex}`);
  });
  ok = (await check(checks, 'zstd', () => {
    const data = Buffer.concat([randomBytes(4096), Buffer.alloc(60_000, 7)]);
    const packed = zstdCompress(data, 3);
    assert(packed.length < data.length, 'zstd did not compress');
    assert(zstdDecompress(packed, data.length).equals(data), 'zstd round trip differs');
  })) && ok;
  ok = (await check(checks, 'threads', async () => {
    const chunking = DEFAULT_PARAMS.chunking;
    const processor = new ThreadBlockProcessor({ chunking, compressionLevel: 3, chunkIdKey: randomBytes(32), treeIdKey: randomBytes(32) }, 2);
    try {
      const data = Buffer.concat([randomBytes(chunking.blockSize / 2), Buffer.alloc(chunking.blockSize / 2, 1)]);
      const [chunks] = await processor.hashBlocks(Buffer.from(data), chunking.blockSize);
      const withIds = chunks.filter((c) => c.id).map((c) => ({ offset: c.offset, length: c.length, id: c.id! }));
      assert(withIds.length > 0, 'no chunks hashed');
      const key = randomBytes(32);
      const sealed = await processor.sealChunks(Buffer.from(data), withIds, CHUNK_KIND.data, key);
      const all = Buffer.concat(sealed.map((s) => s.sealed));
      let start = 0;
      const toOpen = sealed.map((s, i) => {
        const c = { start, length: s.sealed.length, id: withIds[i].id, kind: CHUNK_KIND.data, flags: s.flags, rawLength: s.rawLength };
        start += s.sealed.length;
        return c;
      });
      const opened = await processor.openChunks(all, toOpen, key, true);
      opened.forEach((r, i) => {
        assert(r.ok, `chunk ${i} did not open`);
        if (r.ok) assert(r.data.equals(data.subarray(withIds[i].offset, withIds[i].offset + withIds[i].length)), `chunk ${i} differs`);
      });
    } finally {
      await processor.close();
    }
  })) && ok;
  return { ok, node: process.version, checks };
}
