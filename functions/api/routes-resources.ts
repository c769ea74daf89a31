// Dashboard routes: resources and their protection, the overview, a resource's timeline, the repository's status.
import { z } from 'zod';
import { systemClock } from '../../core/clock.ts';
import { asAccountId, asPolicyId } from '../../core/control/control-ids.ts';
import { pointStorage, type PointStorage } from '../../core/engine/point-storage.ts';
import { isObjectTiering, locksObjects } from '../../core/store/object-store.ts';
import type { Manifest } from '../../core/repo/manifest.ts';
import { NotFoundError } from './api-errors.ts';
import { needInventory, needRepo, type ApiDeps } from './api-deps.ts';
import { chainViews, repositoryStatus } from './point-views.ts';
import { enabledPolicies, resourceViews } from './protection.ts';
import { accountPoints } from './restore-jobs.ts';
import type { Router } from './router.ts';
import type { ChunkIndex } from '../../core/repo/index-file.ts';

const account = z.object({ account: z.string() });
const resourceParams = account.extend({ resourceId: z.string().min(1) });

/** Restore points of a timeline whose storage state is read (the newest). */
const STORAGE_POINTS = 10;

/** Each point's lock and tier state (PointStorage), when the repository's store has either; the points unchanged otherwise. */
async function withStorage<V extends { id: string }>(deps: ApiDeps, manifests: readonly Manifest[], views: V[]): Promise<Array<V & { storage?: PointStorage }>> {
  const repo = deps.repo;
  if (!repo || views.length === 0 || !(locksObjects(repo.store) || isObjectTiering(repo.store))) return views;
  // The index only for tiered stores (pack tiers), loaded once for all points.
  let index: Promise<ChunkIndex> | undefined;
  const loadIndex = () => (index ??= repo.loadIndexForRestore());
  const byId = new Map(manifests.map((m) => [m.id, m]));
  // One state call per pack on tiered stores: only the newest points (views are oldest first) get it.
  const checked = new Set(views.slice(-STORAGE_POINTS).map((v) => v.id));
  return Promise.all(views.map(async (v) => (checked.has(v.id) ? { ...v, storage: await pointStorage(repo, loadIndex, byId.get(v.id)!) } : v)));
}

export function registerResourceRoutes(r: Router, deps: ApiDeps): void {
  const { store } = deps;
  const clock = deps.clock ?? systemClock;
  const points = async (acc: string) => (deps.repo ? accountPoints(deps.repo, acc) : []);
  const views = async (acc: string, what: string) => {
    const resources = await needInventory(deps, what).resources(acc);
    return resourceViews(resources, await enabledPolicies(store, acc), await points(acc), clock.now());
  };
  const repository = async (acc: string) => {
    if (!deps.repo) return null;
    return repositoryStatus(deps.repo, await points(acc), deps.verifyHistory ? await deps.verifyHistory.last() : null);
  };

  r.add('GET', '/accounts/{account}/resources', {
    params: account,
    handler: async ({ params }) => ({ resources: await views(params.account, 'the resource list') }),
  });

  r.add('GET', '/accounts/{account}/overview', {
    params: account,
    handler: async ({ params }) => {
      const resources = await views(params.account, 'the overview');
      const acc = asAccountId(params.account);
      const lastSessions = [];
      for (const p of await store.listPolicies(acc)) {
        const page = await store.listSessions(acc, { policyId: asPolicyId(p.id), limit: 1 });
        lastSessions.push({ policyId: p.id, session: page.sessions[0] ?? null });
      }
      return {
        protectedCount: resources.filter((v) => v.protected).length,
        unprotectedCount: resources.filter((v) => !v.protected).length,
        rpoViolations: resources.flatMap((v) => (v.rpo && !v.rpo.ok ? [{ resourceId: v.id, ageMs: v.rpo.ageMs, promisedMs: v.rpo.promisedMs }] : [])),
        lastSessions,
        repository: await repository(params.account),
      };
    },
  });

  r.add('GET', '/accounts/{account}/resources/{resourceId}/timeline', {
    params: resourceParams,
    handler: async ({ params }) => {
      const { resourceId } = params;
      const found = (await needInventory(deps, 'the timeline').resources(params.account)).find((x) => x.id === resourceId);
      const mine = (await points(params.account)).filter((m) => m.resource.id === resourceId);
      if (!found && mine.length === 0) throw new NotFoundError(`no resource ${JSON.stringify(resourceId)} in account ${params.account}`);
      const snapshots = found && deps.snapshots ? await deps.snapshots.list(params.account, { type: found.type, id: found.id, region: found.region }) : [];
      return {
        resourceId,
        snapshots: snapshots
          .map((s) => ({ id: s.id, ...(s.volumeId ? { volumeId: s.volumeId } : {}), status: s.status, startTime: s.startTime }))
          .sort((a, b) => a.startTime - b.startTime),
        restorePoints: await withStorage(deps, mine, chainViews(mine, deps.restores?.kinds).sort((a, b) => Date.parse(a.finishedAt) - Date.parse(b.finishedAt) || a.chainPosition - b.chainPosition)),
      };
    },
  });

  r.add('GET', '/accounts/{account}/repository', {
    params: account,
    handler: async ({ params }) => {
      needRepo(deps, 'the repository status');
      return { repository: await repository(params.account) };
    },
  });
}
