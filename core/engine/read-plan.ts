// Plans reads of chunks from packs: groups by pack and merges near neighbours into one ranged read.
import { CorruptObjectError } from '../errors.ts';
import { ChunkIndex, type IndexEntry } from '../repo/index-file.ts';

export interface ChunkWant<T> {
  id: Buffer;
  /** Where the caller wants the data (e.g. byte offsets in a disk); one chunk may be wanted many times. */
  targets: T[];
}

export interface PlannedChunk<T> {
  id: Buffer;
  entry: IndexEntry;
  targets: T[];
}

export interface RangeRead<T> {
  packId: string;
  offset: number;
  length: number;
  chunks: PlannedChunk<T>[];
}

export interface ReadPlanOptions {
  /** Bytes between two wanted chunks that are read rather than split into two requests. */
  maxGap?: number;
  maxSpan?: number;
  /** Most bytes the chunks of one read may decode to (bounds the decoder's memory); default unbounded. */
  maxRaw?: number;
}

export function planReads<T>(index: ChunkIndex, wants: Iterable<ChunkWant<T>>, options: ReadPlanOptions = {}): RangeRead<T>[] {
  const maxGap = options.maxGap ?? 256 * 1024;
  const maxSpan = options.maxSpan ?? 8 * 1024 * 1024;
  const maxRaw = options.maxRaw ?? Infinity;
  const merged = new Map<string, PlannedChunk<T>>();
  for (const w of wants) {
    const key = ChunkIndex.keyOf(w.id);
    const seen = merged.get(key);
    if (seen) {
      seen.targets.push(...w.targets);
      continue;
    }
    const entry = index.get(w.id);
    if (!entry) throw new CorruptObjectError(`chunk ${w.id.toString('hex')}`, 'referenced by the restore point but in no index (missing chunk)');
    merged.set(key, { id: w.id, entry, targets: [...w.targets] });
  }
  const byPack = new Map<string, PlannedChunk<T>[]>();
  for (const c of merged.values()) {
    const list = byPack.get(c.entry.pack.id) ?? [];
    list.push(c);
    byPack.set(c.entry.pack.id, list);
  }
  const reads: RangeRead<T>[] = [];
  for (const [packId, list] of byPack) {
    list.sort((a, b) => a.entry.offset - b.entry.offset);
    let cur: RangeRead<T> | null = null;
    let raw = 0;
    for (const c of list) {
      const end = c.entry.offset + c.entry.length;
      if (cur && c.entry.offset - (cur.offset + cur.length) <= maxGap && end - cur.offset <= maxSpan && raw + c.entry.rawLength <= maxRaw) {
        cur.length = Math.max(cur.length, end - cur.offset);
        cur.chunks.push(c);
        raw += c.entry.rawLength;
      } else {
        cur = { packId, offset: c.entry.offset, length: c.entry.length, chunks: [c] };
        raw = c.entry.rawLength;
        reads.push(cur);
      }
    }
  }
  return reads;
}
