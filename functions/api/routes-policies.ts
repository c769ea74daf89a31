// Policy routes beyond CRUD: plans of unsaved and stored policies, enable/disable, and run now.
import { z } from 'zod';
import { systemClock } from '../../core/clock.ts';
import { need, needInventory, type ApiDeps } from './api-deps.ts';
import { planResponse, setPolicyEnabled, storedPolicy } from './policy-service.ts';
import type { Router } from './router.ts';

const account = z.object({ account: z.string() });
const policyParams = account.extend({ policyId: z.string() });

export function registerPolicyRoutes(r: Router, deps: ApiDeps): void {
  const { store } = deps;
  const clock = deps.clock ?? systemClock;
  const resourcesOf = (acc: string) => () => needInventory(deps, 'planning').resources(acc);

  r.add('POST', '/accounts/{account}/policies/plan', {
    params: account,
    body: z.unknown(),
    handler: async ({ params, body }) => planResponse(body, 'policy', params.account, resourcesOf(params.account), clock.now()),
  });

  r.add('GET', '/accounts/{account}/policies/{policyId}/plan', {
    params: policyParams,
    handler: async ({ params }) => {
      const stored = await storedPolicy(store, params.account, params.policyId);
      return planResponse(stored.body, `policy ${params.policyId}`, params.account, resourcesOf(params.account), clock.now());
    },
  });

  for (const [action, enabled] of [['enable', true], ['disable', false]] as const) {
    r.add('POST', `/accounts/{account}/policies/{policyId}/${action}`, {
      params: policyParams,
      handler: async ({ params }) => {
        return { policy: await setPolicyEnabled(store, params.account, params.policyId, enabled, { scheduler: deps.schedules }) };
      },
    });
  }

  r.add('POST', '/accounts/{account}/policies/{policyId}/run', {
    params: policyParams,
    status: 202,
    handler: async ({ params }) => {
      const runner = need(deps.runner, 'run now', 'it was started without a policy runner');
      await storedPolicy(store, params.account, params.policyId);
      const { sessionId } = await runner.runNow(params.account, params.policyId);
      return { sessionId };
    },
  });
}
