// The API's routes: thin handlers over the control store, the policy model, the repository and the optional ports.
import { z } from 'zod';
import { asAccountId, asPolicyId } from '../../core/control/control-ids.ts';
import type { SessionCursor } from '../../core/control/control-store.ts';
import type { ApiDeps } from './api-deps.ts';
import { pointView } from './point-views.ts';
import { savePolicy, storedPolicy, validate } from './policy-service.ts';
import { accountPoints } from './restore-jobs.ts';
import { Router } from './router.ts';
import { registerPolicyRoutes } from './routes-policies.ts';
import { registerResourceRoutes } from './routes-resources.ts';
import { registerRunRoutes, storedSession } from './routes-runs.ts';

export type { ApiDeps } from './api-deps.ts';

const account = z.object({ account: z.string() });
const policyParams = account.extend({ policyId: z.string() });
const idParams = account.extend({ id: z.string() });
const policyPut = z.strictObject({ expectedVersion: z.number().int().nonnegative(), policy: z.record(z.string(), z.unknown()) });
const sessionsQuery = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(50),
  cursor: z.string().min(1).optional(),
  policyId: z.string().optional(),
});

export function buildApi(deps: ApiDeps): Router {
  const { store } = deps;
  const r = new Router(deps.authenticator, deps.log);
  const offered = deps.restores?.kinds ?? [];

  r.add('GET', '/accounts', { handler: async ({ principal }) => ({ accounts: principal.accounts.map((id) => ({ id })) }) });

  r.add('GET', '/accounts/{account}/policies', {
    params: account,
    handler: async ({ params }) => ({ policies: await store.listPolicies(asAccountId(params.account)) }),
  });

  r.add('POST', '/accounts/{account}/policies/validate', {
    params: account,
    body: z.unknown(),
    handler: async ({ body }) => {
      const { problems } = validate(body, 'policy');
      return { valid: problems.length === 0, problems };
    },
  });

  r.add('GET', '/accounts/{account}/policies/{policyId}', {
    params: policyParams,
    handler: async ({ params }) => ({ policy: await storedPolicy(store, params.account, params.policyId) }),
  });

  r.add('PUT', '/accounts/{account}/policies/{policyId}', {
    params: policyParams,
    body: policyPut,
    handler: async ({ params, body }) => ({ policy: await savePolicy(store, params.account, params.policyId, body.policy, body.expectedVersion, { scheduler: deps.schedules }) }),
  });

  r.add('GET', '/accounts/{account}/sessions', {
    params: account,
    query: sessionsQuery,
    handler: async ({ params, query }) => {
      const page = await store.listSessions(asAccountId(params.account), {
        limit: query.limit,
        before: query.cursor as SessionCursor | undefined,
        policyId: query.policyId === undefined ? undefined : asPolicyId(query.policyId),
      });
      return { sessions: page.sessions, ...(page.next ? { next: page.next } : {}) };
    },
  });

  r.add('GET', '/accounts/{account}/sessions/{id}', {
    params: idParams,
    handler: async ({ params }) => {
      const session = await storedSession(store, params.account, params.id);
      return { session, tasks: await store.listTasks(session.account, session.id) };
    },
  });

  r.add('GET', '/accounts/{account}/restore-points', {
    params: account,
    handler: async ({ params }) => ({ restorePoints: (deps.repo ? await accountPoints(deps.repo, params.account) : []).map((m) => pointView(m, offered)) }),
  });

  registerPolicyRoutes(r, deps);
  registerResourceRoutes(r, deps);
  registerRunRoutes(r, deps);
  return r;
}
