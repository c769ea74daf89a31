// Backup of byte streams (database exports): content-defined chunks, deduplicated, in the same packs.
import { chunkId, CHUNK_KIND } from '../repo/block-codec.ts';
import type { StreamManifest } from '../repo/manifest.ts';
import { chunkStream, gearTable } from '../repo/stream-chunker.ts';
import { encodeStreamSegment, STREAM_SEGMENT_CHUNKS, type StreamChunkRef } from '../repo/stream-map.ts';
import { throwIfAborted } from '../errors.ts';
import { Semaphore } from '../util/concurrency.ts';
import { claimNewChunk, type DiskBackupDeps } from './disk-backup.ts';

export interface StreamToBackUp {
  name: string;
  source: AsyncIterable<Uint8Array>;
  /** Expected size for progress, when known. */
  sizeHint?: number;
}

/** The parts of a disk backup's context a stream backup uses (same session, packs and counters). */
export type StreamBackupDeps = Pick<DiskBackupDeps, 'repo' | 'index' | 'processor' | 'packs' | 'session' | 'reused' | 'counters' | 'sealTree' | 'onProgress' | 'signal'>;

export async function backupStream(d: StreamBackupDeps, stream: StreamToBackUp): Promise<StreamManifest> {
  const gear = gearTable(d.repo.master);
  const inflight = new Semaphore(d.processor.lanes * 2);
  const pending = new Set<Promise<void>>();
  let failure: unknown = undefined;
  const segments: string[] = [];
  let refs: StreamChunkRef[] = [];
  let size = 0;
  for await (const chunk of chunkStream(stream.source, gear)) {
    throwIfAborted(d.signal);
    if (failure !== undefined) throw failure;
    size += chunk.length;
    d.counters.bytesRead += chunk.length;
    const id = chunkId(d.repo.master.chunkIdKey, chunk);
    refs.push({ length: chunk.length, id });
    if (claimNewChunk(d, id, chunk.length)) {
      await inflight.acquire();
      const job = d.processor
        .sealChunks(chunk, [{ offset: 0, length: chunk.length, id }], CHUNK_KIND.data, d.packs.key)
        .then((sealed) => d.packs.add(id, CHUNK_KIND.data, sealed[0]))
        .catch((err: unknown) => void (failure ??= err))
        .finally(() => inflight.release());
      pending.add(job);
      void job.finally(() => pending.delete(job));
    }
    if (refs.length === STREAM_SEGMENT_CHUNKS) {
      segments.push(await d.sealTree(encodeStreamSegment(refs)));
      refs = [];
    }
    d.onProgress?.({ phase: 'backup', item: stream.name, bytesDone: size, bytesTotal: Math.max(size, stream.sizeHint ?? 0) });
  }
  await Promise.all([...pending]);
  if (failure !== undefined) throw failure;
  if (refs.length > 0 || segments.length === 0) segments.push(await d.sealTree(encodeStreamSegment(refs)));
  d.counters.bytesTotal += size;
  return { name: stream.name, size, segments };
}
