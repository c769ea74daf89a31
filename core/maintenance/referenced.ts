// Walks restore points to the chunks they reference: the root set of verify and prune.
import { CorruptObjectError } from '../errors.ts';
import { decodeSegment } from '../repo/block-map.ts';
import { decodeStreamSegment } from '../repo/stream-map.ts';
import { ChunkIndex } from '../repo/index-file.ts';
import type { Manifest } from '../repo/manifest.ts';
import type { Repository } from '../repo/repository.ts';
import type { IoOptions } from '../store/object-store.ts';

export interface Reference {
  /** latin1 key of the chunk id (ChunkIndex.keyOf). */
  key: string;
  /** Where it is referenced from, for messages. */
  from: string;
}

export interface ReferencedSet {
  chunks: Map<string, string>;
  problems: Array<{ key: string; problem: string }>;
}

/** Collects every chunk (trees and data) the manifests reference; unreadable trees are problems. */
export async function collectReferences(repo: Repository, index: ChunkIndex, manifests: Manifest[], options: IoOptions = {}): Promise<ReferencedSet> {
  const chunks = new Map<string, string>();
  const problems: ReferencedSet['problems'] = [];
  const treesDone = new Set<string>();
  const note = (key: string, where: string) => {
    if (!chunks.has(key)) chunks.set(key, where);
  };
  for (const m of manifests) {
    for (const stream of m.streams ?? []) {
      const where = `restore point ${m.id} stream ${stream.name}`;
      for (const segId of stream.segments) {
        note(ChunkIndex.keyOf(Buffer.from(segId, 'hex')), where);
        if (treesDone.has(segId)) continue;
        treesDone.add(segId);
        try {
          for (const c of decodeStreamSegment(await repo.readTree(index, segId, options), `tree ${segId}`)) note(ChunkIndex.keyOf(c.id), where);
        } catch (err) {
          if (!(err instanceof CorruptObjectError)) throw err;
          problems.push({ key: err.key, problem: `${err.message} (needed by ${where})` });
        }
      }
    }
    for (const disk of m.disks) {
      for (const segId of disk.segments) {
        if (!segId) continue;
        const where = `restore point ${m.id} disk ${disk.name}`;
        const treeKey = ChunkIndex.keyOf(Buffer.from(segId, 'hex'));
        if (!chunks.has(treeKey)) chunks.set(treeKey, where);
        if (treesDone.has(segId)) continue;
        treesDone.add(segId);
        try {
          const seg = decodeSegment(await repo.readTree(index, segId, options), `tree ${segId}`);
          for (const block of seg.blocks) {
            for (const c of block) {
              if (!c.id) continue;
              const key = ChunkIndex.keyOf(c.id);
              if (!chunks.has(key)) chunks.set(key, where);
            }
          }
        } catch (err) {
          if (!(err instanceof CorruptObjectError)) throw err;
          problems.push({ key: err.key, problem: `${err.message} (needed by ${where})` });
        }
      }
    }
  }
  return { chunks, problems };
}
