// Restore points without the newer endpoints: resources and chain positions derived from GET restore-points.
import type { RestorePoint } from './types.ts';

export interface PointResource {
  id: string;
  kind: string;
  provider: string;
  points: number;
  lastFinishedAt: number;
}

export function resourcesOf(points: RestorePoint[]): PointResource[] {
  const byId = new Map<string, PointResource>();
  for (const p of points) {
    const r = byId.get(p.resource.id) ?? { id: p.resource.id, kind: p.resource.kind, provider: p.resource.provider, points: 0, lastFinishedAt: 0 };
    r.points++;
    r.lastFinishedAt = Math.max(r.lastFinishedAt, Date.parse(p.finishedAt));
    byId.set(r.id, r);
  }
  return [...byId.values()].sort((a, b) => a.id.localeCompare(b.id));
}

/** The resource's points with chainPosition (0 = the full it builds on) filled in from the parent links, newest first. */
export function withChainPositions(points: RestorePoint[]): RestorePoint[] {
  const byId = new Map(points.map((p) => [p.id, p]));
  const position = (p: RestorePoint): number => {
    let n = 0;
    for (let cur = p; cur.kind === 'incremental' && cur.parent && byId.has(cur.parent) && n < points.length; cur = byId.get(cur.parent)!) n++;
    return n;
  };
  return points.map((p) => ({ ...p, chainPosition: p.chainPosition ?? position(p) })).sort((a, b) => Date.parse(b.finishedAt) - Date.parse(a.finishedAt));
}
