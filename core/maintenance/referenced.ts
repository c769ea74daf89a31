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

/** Trees read at once: a repository of many points has many, and each read waits for the store. */
const TREES_IN_FLIGHT = 8;

/** Collects every chunk (trees and data) the manifests reference; unreadable trees are problems. */
export async function collectReferences(repo: Repository, index: ChunkIndex, manifests: Manifest[], options: IoOptions = {}): Promise<ReferencedSet> {
  const chunks = new Map<string, string>();
  const problems: ReferencedSet['problems'] = [];
  const note = (key: string, where: string) => {
    if (!chunks.has(key)) chunks.set(key, where);
  };
  // Every tree once, in the order the points name them (the first naming point is the one messages give).
  const trees = new Map<string, { where: string; stream: boolean }>();
  for (const m of manifests) {
    for (const stream of m.streams ?? []) {
      for (const segId of stream.segments) if (!trees.has(segId)) trees.set(segId, { where: `restore point ${m.id} stream ${stream.name}`, stream: true });
    }
    for (const disk of m.disks) {
      for (const segId of disk.segments) if (segId && !trees.has(segId)) trees.set(segId, { where: `restore point ${m.id} disk ${disk.name}`, stream: false });
    }
  }
  const list = [...trees];
  for (let i = 0; i < list.length; i += TREES_IN_FLIGHT) {
    const window = list.slice(i, i + TREES_IN_FLIGHT);
    const read = await Promise.all(window.map(([segId]) => repo.readTree(index, segId, options).catch((err: unknown) => {
      if (!(err instanceof CorruptObjectError)) throw err;
      return err;
    })));
    window.forEach(([segId, { where, stream }], j) => {
      note(ChunkIndex.keyOf(Buffer.from(segId, 'hex')), where);
      const data = read[j];
      try {
        if (data instanceof CorruptObjectError) throw data;
        if (stream) for (const c of decodeStreamSegment(data, `tree ${segId}`)) note(ChunkIndex.keyOf(c.id), where);
        else for (const block of decodeSegment(data, `tree ${segId}`).blocks) for (const c of block) if (c.id) note(ChunkIndex.keyOf(c.id), where);
      } catch (err) {
        if (!(err instanceof CorruptObjectError)) throw err;
        problems.push({ key: err.key, problem: `${err.message} (needed by ${where})` });
      }
    });
  }
  return { chunks, problems };
}
