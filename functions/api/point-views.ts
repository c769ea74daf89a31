// Restore points as the API shows them: one point, its place in its chain, and the repository's totals for an account.
import type { Manifest } from '../../core/repo/manifest.ts';
import type { Repository } from '../../core/repo/repository.ts';
import type { RestoreKind, VerifyRecord } from './ports.ts';
import { restoreKindsOf } from './restore-requests.ts';

/** A restore point with the kinds of restore it offers among `offered` (the server's). */
export function pointView(m: Manifest, offered: readonly RestoreKind[] = []) {
  return {
    id: m.id,
    resource: m.resource,
    kind: m.kind,
    parent: m.parent,
    startedAt: m.startedAt,
    finishedAt: m.finishedAt,
    size: m.stats.bytesTotal,
    storedBytes: m.stats.bytesStored,
    disks: m.disks.map((d) => ({ name: d.name, size: d.size })),
    tags: m.tags,
    restoreKinds: restoreKindsOf(m, offered),
  };
}

/**
 * The points with their chain position (0: the full, n: n parents away from it) and the number of
 * points in their chain. A parent missing from `points` (pruned) ends the walk: its child counts as the start.
 */
export function chainViews(points: readonly Manifest[], offered: readonly RestoreKind[] = []) {
  const byId = new Map(points.map((m) => [m.id, m]));
  const rootAndDepth = (m: Manifest): { root: string; depth: number } => {
    let depth = 0;
    let at = m;
    const seen = new Set([m.id]);
    while (at.parent) {
      const parent = byId.get(at.parent);
      if (!parent || seen.has(parent.id)) break;
      seen.add(parent.id);
      at = parent;
      depth++;
    }
    return { root: at.id, depth };
  };
  const placed = points.map((m) => ({ m, ...rootAndDepth(m) }));
  const lengths = new Map<string, number>();
  for (const p of placed) lengths.set(p.root, (lengths.get(p.root) ?? 0) + 1);
  return placed.map((p) => ({ ...pointView(p.m, offered), chainPosition: p.depth, chainLength: lengths.get(p.root) ?? 1 }));
}

/** Totals of the account's restore points in the repository; the URL is the store's description (never secrets). */
export function repositoryStatus(repo: Repository, points: readonly Manifest[], lastVerify: VerifyRecord | null) {
  const logicalBytes = points.reduce((sum, m) => sum + m.stats.bytesTotal, 0);
  const storedBytes = points.reduce((sum, m) => sum + m.stats.bytesStored, 0);
  return {
    url: repo.store.description,
    logicalBytes,
    storedBytes,
    reductionRatio: storedBytes > 0 ? logicalBytes / storedBytes : null,
    restorePoints: points.length,
    lastVerify,
  };
}
