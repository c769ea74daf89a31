// Verify (health check): a quick structural check, or a full re-read that authenticates every chunk.
import { CorruptObjectError, throwIfAborted } from '../errors.ts';
import type { BlockProcessor } from '../engine/block-processor.ts';
import type { ProgressListener } from '../engine/progress.ts';
import { authenticateConfig } from '../repo/config.ts';
import { ChunkIndex, type IndexedChunk } from '../repo/index-file.ts';
import { CONFIG_KEY, INDEX_PREFIX, packIdFromKey, packKey, PACKS_PREFIX, POINTS_PREFIX } from '../repo/layout.ts';
import type { Manifest } from '../repo/manifest.ts';
import { parsePack } from '../repo/pack.ts';
import { Repository } from '../repo/repository.ts';
import { listAll, type ObjectInfo } from '../store/object-store.ts';
import { mapLimit } from '../util/concurrency.ts';
import { collectReferences } from './referenced.ts';
import { markedPacks } from '../repo/markers.ts';

export interface VerifyOptions {
  /** Re-read and authenticate every chunk of the packs the chosen restore points use. */
  full?: boolean;
  /** Restore point ids to check in full; default all. */
  points?: string[];
  onProgress?: ProgressListener;
  signal?: AbortSignal;
}

export interface VerifyProblem {
  key: string;
  problem: string;
}

export interface VerifyReport {
  ok: boolean;
  problems: VerifyProblem[];
  points: number;
  indexes: number;
  packs: number;
  /** Packs no index names: left by an interrupted backup, removed by prune; not an error. */
  unindexedPacks: number;
  chunksChecked: number;
  bytesChecked: number;
}

export async function verifyRepository(repo: Repository, processor: BlockProcessor, options: VerifyOptions = {}): Promise<VerifyReport> {
  const { signal } = options;
  const problems: VerifyProblem[] = [];
  const bad = (key: string, problem: string) => problems.push({ key, problem });
  const catchCorrupt = async <T>(key: string, fn: () => Promise<T>): Promise<T | null> => {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof CorruptObjectError) bad(err.key, err.message);
      else if (err instanceof Error && !(err.name === 'AbortedError')) bad(key, err.message);
      else throw err;
      return null;
    }
  };
  // The stored config, not the copy read at open: damage there would only show at the next open.
  await catchCorrupt(CONFIG_KEY, async () => authenticateConfig(repo.master, await Repository.readConfig(repo.store, { signal })));
  await catchCorrupt('keys/', () => Repository.listKeys(repo.store, { signal }));
  const index = new ChunkIndex();
  const loaded: Array<[string, IndexedChunk[]]> = [];
  const indexInfos = await listAll(repo.store, INDEX_PREFIX, { signal });
  await mapLimit(indexInfos, 8, async (info) => {
    const chunks = await catchCorrupt(info.key, () => repo.readIndexObject(info.key, { signal }));
    if (chunks) {
      index.add(info.key, chunks);
      loaded.push([info.key, chunks]);
    }
  });
  const packs = new Map<string, ObjectInfo>();
  for (const info of await listAll(repo.store, PACKS_PREFIX, { signal })) packs.set(packIdFromKey(info.key), info);
  const indexedPacks = new Set<string>();
  // Marked packs are dead to every reader: prune may delete one while a locked index still names it.
  const marked = await catchCorrupt('markers/', () => markedPacks(repo, { signal }));
  const missingReported = new Set<string>(marked ?? []);
  for (const [id, e] of index.entries()) {
    indexedPacks.add(e.pack.id);
    const info = packs.get(e.pack.id);
    if (!info) {
      if (!missingReported.has(e.pack.id)) bad(packKey(e.pack.id), 'pack named by an index is missing');
      missingReported.add(e.pack.id);
    } else if (info.size < e.offset + e.length) {
      bad(packKey(e.pack.id), `chunk ${id.toString('hex')} ends at ${e.offset + e.length} beyond the pack's ${info.size} bytes (truncated)`);
    }
  }
  // Without points forgotten in a locked repository (their manifests wait for the lock to lapse).
  const pointIds = await repo.listPointIds({ signal });
  const manifests: Manifest[] = [];
  for (const id of pointIds) {
    const m = await catchCorrupt(`${POINTS_PREFIX}${id}`, () => repo.readManifest(id, { signal }));
    if (m) manifests.push(m);
  }
  const chosen = options.points ? manifests.filter((m) => options.points!.includes(m.id)) : manifests;
  // Chunks in missing or truncated packs are reported above; reading their trees would throw store errors.
  const readable = new ChunkIndex();
  for (const [key, chunks] of loaded) readable.add(key, chunks.filter((c) => (packs.get(c.pack.id)?.size ?? -1) >= c.offset + c.length));
  const refs = await collectReferences(repo, readable, chosen, { signal });
  problems.push(...refs.problems);
  const wantedPacks = new Set<string>();
  for (const [key, where] of refs.chunks) {
    const e = index.get(Buffer.from(key, 'latin1'));
    if (!e) bad(`chunk ${Buffer.from(key, 'latin1').toString('hex')}`, `in no index (needed by ${where})`);
    else wantedPacks.add(e.pack.id);
  }
  for (const p of wantedPacks) {
    if (!packs.has(p) && marked?.has(p)) bad(packKey(p), 'a restore point needs chunks of this pack, which is missing (marked for deletion)');
  }
  const report: VerifyReport = { ok: false, problems, points: manifests.length, indexes: index.objects.size, packs: packs.size, unindexedPacks: [...packs.keys()].filter((p) => !indexedPacks.has(p)).length, chunksChecked: 0, bytesChecked: 0 };
  if (options.full) await verifyPacks(repo, processor, index, [...wantedPacks].filter((p) => packs.has(p)), report, options);
  report.ok = problems.length === 0;
  return report;
}

async function verifyPacks(repo: Repository, processor: BlockProcessor, index: ChunkIndex, packIds: string[], report: VerifyReport, options: VerifyOptions): Promise<void> {
  const byPack = new Map<string, Array<[Buffer, number]>>();
  for (const [id, e] of index.entries()) {
    const list = byPack.get(e.pack.id) ?? [];
    list.push([id, e.offset]);
    byPack.set(e.pack.id, list);
  }
  let total = 0;
  for (const p of packIds) total += byPack.get(p)?.length ?? 0;
  let done = 0;
  await mapLimit(packIds, processor.lanes + 1, async (packId) => {
    throwIfAborted(options.signal);
    const key = packKey(packId);
    const data = await repo.store.get(key, { signal: options.signal });
    report.bytesChecked += data.length;
    let parsed;
    try {
      parsed = parsePack(repo.master, packId, key, data);
    } catch (err) {
      if (err instanceof CorruptObjectError) return void report.problems.push({ key, problem: err.message });
      throw err;
    }
    const inTrailer = new Map(parsed.entries.map((e) => [ChunkIndex.keyOf(e.id), e]));
    for (const [id, offset] of byPack.get(packId) ?? []) {
      const t = inTrailer.get(ChunkIndex.keyOf(id));
      if (!t || t.offset !== offset) report.problems.push({ key, problem: `index places chunk ${id.toString('hex')} at offset ${offset}, the pack trailer does not` });
    }
    const chunks = parsed.entries.map((e) => ({ start: e.offset, length: e.length, id: e.id, kind: e.kind, flags: e.flags, rawLength: e.rawLength }));
    const results = await processor.openChunks(data, chunks, parsed.key, false);
    results.forEach((r, i) => {
      if (!r.ok) report.problems.push({ key, problem: `chunk ${chunks[i].id.toString('hex')} at offset ${chunks[i].start}: ${r.reason}` });
    });
    report.chunksChecked += chunks.length;
    done += byPack.get(packId)?.length ?? 0;
    options.onProgress?.({ phase: 'verify', item: key, bytesDone: done, bytesTotal: total });
  });
}
