// Protection of an account's resources: which enabled policies select each one, and its RPO (promised vs actual age).
import { asAccountId } from '../../core/control/control-ids.ts';
import type { ControlStore } from '../../core/control/control-store.ts';
import { selects, type DiscoveredResource } from '../../core/policy/plan.ts';
import { isEnabled, parsePolicy, type Policy } from '../../core/policy/policy-schema.ts';
import { nextRuns } from '../../core/policy/schedule.ts';
import type { Manifest } from '../../core/repo/manifest.ts';

export interface Rpo {
  /** The longest gap between consecutive backup runs of the most frequent selecting policy. */
  promisedMs: number;
  /** now − finishedAt of the newest restore point; null when the resource has none. */
  ageMs: number | null;
  ok: boolean;
}

export interface ResourceView extends DiscoveredResource {
  /** Ids of the enabled policies selecting the resource. */
  policies: string[];
  protected: boolean;
  lastRestorePoint?: { id: string; finishedAt: number };
  rpo?: Rpo;
}

// Enough runs to see the longest gap of weekday-only or weekly cron schedules.
const GAP_RUNS = 10;

/** The longest gap between consecutive runs of a schedule after `now`. */
export function scheduleGapMs(schedule: string, timeZone: string, now: number): number {
  const runs = nextRuns(schedule, timeZone, new Date(now), GAP_RUNS).map((d) => d.getTime());
  let gap = 0;
  for (let i = 1; i < runs.length; i++) gap = Math.max(gap, runs[i] - runs[i - 1]);
  return gap;
}

/** The account's stored enabled policies that are valid (a stored body that no longer parses protects nothing). */
export async function enabledPolicies(store: ControlStore, account: string): Promise<Policy[]> {
  const out: Policy[] = [];
  for (const stored of await store.listPolicies(asAccountId(account))) {
    try {
      const policy = parsePolicy(stored.body, `policy ${stored.id}`);
      if (isEnabled(policy)) out.push(policy);
    } catch {
      // shown as invalid by its plan; protects nothing meanwhile
    }
  }
  return out;
}

/** The newest restore point of each resource id, by finishedAt. */
export function newestPoints(points: readonly Manifest[]): Map<string, Manifest> {
  const newest = new Map<string, Manifest>();
  for (const m of points) {
    const seen = newest.get(m.resource.id);
    if (!seen || Date.parse(m.finishedAt) > Date.parse(seen.finishedAt)) newest.set(m.resource.id, m);
  }
  return newest;
}

/** Each resource with the enabled policies selecting it, its newest restore point and its RPO at `now`. */
export function resourceViews(resources: readonly DiscoveredResource[], policies: readonly Policy[], points: readonly Manifest[], now: number): ResourceView[] {
  const newest = newestPoints(points);
  return resources.map((r) => {
    const selecting = policies.filter((p) => selects(p, r));
    const point = newest.get(r.id);
    const view: ResourceView = { ...r, policies: selecting.map((p) => p.id), protected: selecting.length > 0 };
    if (point) view.lastRestorePoint = { id: point.id, finishedAt: Date.parse(point.finishedAt) };
    const gaps = selecting.flatMap((p) => (p.backup ? [scheduleGapMs(p.backup.schedule, p.backup.timeZone, now)] : []));
    if (gaps.length > 0) {
      const promisedMs = Math.min(...gaps);
      const ageMs = view.lastRestorePoint ? Math.max(0, now - view.lastRestorePoint.finishedAt) : null;
      view.rpo = { promisedMs, ageMs, ok: ageMs !== null && ageMs <= promisedMs };
    }
    return view;
  });
}
