// Restore of a byte stream: chunks fetched in parallel windows, verified, written in order.
import { CorruptObjectError, InvalidArgumentError, throwIfAborted } from '../errors.ts';
import type { ChunkIndex } from '../repo/index-file.ts';
import { packKey } from '../repo/layout.ts';
import type { Manifest } from '../repo/manifest.ts';
import { packDataKey } from '../repo/pack.ts';
import type { Repository } from '../repo/repository.ts';
import { decodeStreamSegment } from '../repo/stream-map.ts';
import { mapLimit } from '../util/concurrency.ts';
import type { BlockProcessor } from './block-processor.ts';
import type { ProgressListener } from './progress.ts';
import { planReads } from './read-plan.ts';

export interface StreamRestoreContext {
  repo: Repository;
  index: ChunkIndex;
  processor: BlockProcessor;
  onProgress?: ProgressListener;
  signal?: AbortSignal;
}

/** Chunks fetched together; bounds memory to about window x 2 MiB. */
const WINDOW = 32;

export async function restoreStream(ctx: StreamRestoreContext, manifest: Manifest, name: string, write: (data: Buffer) => Promise<void>): Promise<{ bytesWritten: number }> {
  const stream = manifest.streams?.find((s) => s.name === name);
  if (!stream) throw new InvalidArgumentError(`restore point ${manifest.id} has no stream ${JSON.stringify(name)}; it has ${(manifest.streams ?? []).map((s) => s.name).join(', ') || 'none'}`);
  const { repo, index, processor, signal } = ctx;
  let written = 0;
  for (const segId of stream.segments) {
    const refs = decodeStreamSegment(await repo.readTree(index, segId, { signal }), `tree ${segId}`);
    for (let w = 0; w < refs.length; w += WINDOW) {
      throwIfAborted(signal);
      const window = refs.slice(w, w + WINDOW);
      const out = new Array<Buffer>(window.length);
      const reads = planReads(index, window.map((r, i) => ({ id: r.id, targets: [i] })));
      await mapLimit(reads, processor.lanes * 2, async (read) => {
        const key = packKey(read.packId);
        const data = await repo.store.get(key, { signal, range: { offset: read.offset, length: read.length } });
        const chunks = read.chunks.map((c) => ({ start: c.entry.offset - read.offset, length: c.entry.length, id: c.id, kind: c.entry.kind, flags: c.entry.flags, rawLength: c.entry.rawLength }));
        const opened = await processor.openChunks(data, chunks, packDataKey(repo.master, read.chunks[0].entry.pack.salt), true);
        opened.forEach((r, i) => {
          if (!r.ok) throw new CorruptObjectError(key, `chunk ${read.chunks[i].id.toString('hex')}: ${r.reason}`);
          for (const t of read.chunks[i].targets) out[t] = r.data;
        });
      });
      for (let i = 0; i < window.length; i++) {
        if (out[i].length !== window[i].length) throw new CorruptObjectError(`tree ${segId}`, `chunk ${i} has ${out[i].length} bytes, the stream map says ${window[i].length}`);
        await write(out[i]);
        written += out[i].length;
      }
      ctx.onProgress?.({ phase: 'restore', item: `${manifest.id}/${name}`, bytesDone: written, bytesTotal: stream.size });
    }
  }
  if (written !== stream.size) throw new CorruptObjectError(`restore point ${manifest.id}`, `stream ${name} restored ${written} bytes, the manifest says ${stream.size}`);
  return { bytesWritten: written };
}
