// Forget: apply a retention policy to each resource's restore points and delete the manifests it drops.
import { applyRetention } from '../retention/apply-retention.ts';
import type { RetentionPolicy } from '../retention/retention-policy.ts';
import { chainGroup, type Manifest } from '../repo/manifest.ts';
import type { Repository } from '../repo/repository.ts';
import { pointKey } from '../repo/layout.ts';
import { writeMarker } from '../repo/markers.ts';
import { LockGuard } from './locks.ts';

export interface ForgetOptions {
  dryRun?: boolean;
  timeZoneOffsetMinutes?: number;
  /** Only restore points of this resource id. */
  resourceId?: string;
  signal?: AbortSignal;
}

export interface ForgetDecision {
  resource: string;
  keep: Array<{ id: string; reasons: string[] }>;
  remove: string[];
}

/** The group a restore point's retention is counted in: one resource of one account. */
export function resourceGroup(m: Manifest): string {
  return chainGroup(m.resource);
}

export async function forgetPoints(repo: Repository, policy: RetentionPolicy, options: ForgetOptions = {}): Promise<ForgetDecision[]> {
  const manifests = (await repo.listManifests({ signal: options.signal })).filter((m) => !options.resourceId || m.resource.id === options.resourceId);
  const groups = new Map<string, Manifest[]>();
  for (const m of manifests) {
    const g = resourceGroup(m);
    groups.set(g, [...(groups.get(g) ?? []), m]);
  }
  const decisions: ForgetDecision[] = [];
  for (const [group, list] of [...groups].sort(([a], [b]) => a.localeCompare(b))) {
    const points = list.map((m) => ({ id: m.id, time: Date.parse(m.finishedAt) }));
    const result = applyRetention(points, policy, repo.clock.now(), { timeZoneOffsetMinutes: options.timeZoneOffsetMinutes });
    decisions.push({ resource: group, keep: result.keep.map((k) => ({ id: k.point.id, reasons: k.reasons })), remove: result.remove.map((p) => p.id) });
  }
  if (!options.dryRun) {
    const { signal } = options;
    // A locked manifest cannot be deleted yet: a marker names the point as forgotten, prune deletes it later.
    const guard = LockGuard.for(repo, undefined);
    const stillLocked: string[] = [];
    for (const d of decisions) {
      for (const id of d.remove) {
        if (guard && (await guard.isLocked(pointKey(id), { signal }))) stillLocked.push(id);
        else await repo.deleteManifest(id, { signal });
      }
    }
    if (stillLocked.length > 0) await writeMarker(repo, [], { signal }, { points: stillLocked });
  }
  return decisions;
}
