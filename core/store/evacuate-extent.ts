// Evacuation of a scale-out extent: every pack is copied to another extent, checked, then removed.
// Copy before delete, so an interruption leaves the pack in both places (reads still work; the
// next run finishes the move). Pack keys do not change, so no index or chain is touched.
import { InvalidArgumentError, throwIfAborted } from '../errors.ts';
import { PACKS_PREFIX } from '../repo/layout.ts';
import type { ProgressListener } from '../engine/progress.ts';
import { listAll, StoreError } from './object-store.ts';
import type { ScaleOutObjectStore } from './scale-out-store.ts';

export interface EvacuationReport {
  packs: number;
  bytes: number;
}

export async function evacuateExtent(store: ScaleOutObjectStore, extentId: string, options: { signal?: AbortSignal; onProgress?: ProgressListener } = {}): Promise<EvacuationReport> {
  const { signal } = options;
  const index = store.extents.findIndex((e) => e.id === extentId);
  if (index < 0) throw new InvalidArgumentError(`no extent ${JSON.stringify(extentId)}; the extents are ${store.extents.map((e) => e.id).join(', ')}`);
  const source = store.extents[index];
  if (index === 0) throw new InvalidArgumentError(`extent ${extentId} holds the repository's metadata and cannot be evacuated; move the repository instead`);
  if (!source.maintenance) throw new InvalidArgumentError(`put extent ${extentId} in maintenance first, so no new data lands on it while it is emptied`);
  const packs = await listAll(source.store, PACKS_PREFIX, { signal });
  const total = packs.reduce((a, p) => a + p.size, 0);
  const report: EvacuationReport = { packs: 0, bytes: 0 };
  for (const info of packs) {
    throwIfAborted(signal);
    const data = await source.store.get(info.key, { signal });
    const targets = store.placementOrder(undefined, info.key, data.length).filter((i) => i !== index);
    if (targets.length === 0) throw new StoreError(`no other extent can take pack ${info.key}`, info.key);
    const target = store.extents[targets[0]];
    await target.store.put(info.key, data, { signal, kind: 'pack' });
    await target.store.flush?.({ signal });
    const copied = await target.store.stat(info.key, { signal });
    if (copied.size !== data.length) throw new StoreError(`copy of ${info.key} on extent ${target.id} has ${copied.size} bytes, expected ${data.length}; the original is kept`, info.key);
    await source.store.delete(info.key, { signal });
    report.packs++;
    report.bytes += data.length;
    options.onProgress?.({ phase: 'prune', item: `evacuate ${extentId}`, bytesDone: report.bytes, bytesTotal: total });
  }
  store.refresh();
  return report;
}
