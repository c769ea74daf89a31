// The API's routes: thin handlers over the control store, the policy model, the repository and local restores.
import { z } from 'zod';
import { asAccountId, asPolicyId, asSessionId } from '../../core/control/control-ids.ts';
import type { ControlStore, JsonObject, SessionCursor } from '../../core/control/control-store.ts';
import { InvalidArgumentError } from '../../core/errors.ts';
import { parsePolicy, PolicyValidationError, type PolicyProblem } from '../../core/policy/policy-schema.ts';
import type { Repository } from '../../core/repo/repository.ts';
import { NotFoundError } from './api-errors.ts';
import type { Authenticator } from './auth.ts';
import { accountPoints, type LocalRestoreJobs } from './restore-jobs.ts';
import { Router, type Logger } from './router.ts';

export interface ApiDeps {
  authenticator: Authenticator;
  store: ControlStore;
  /** The repository restore points are listed from; absent: no restore points. */
  repo?: Repository;
  /** Background restores (local mode); absent: restores are not offered. */
  restores?: LocalRestoreJobs;
  log?: Logger;
}

const account = z.object({ account: z.string() });
const policyParams = account.extend({ policyId: z.string() });
const idParams = account.extend({ id: z.string() });
const policyPut = z.strictObject({ expectedVersion: z.number().int().nonnegative(), policy: z.record(z.string(), z.unknown()) });
const sessionsQuery = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(50),
  cursor: z.string().min(1).optional(),
  policyId: z.string().optional(),
});
const restoreBody = z.strictObject({ pointId: z.string().min(1), disk: z.string().min(1).default('root'), targetPath: z.string().min(1) });

function validate(input: unknown, where: string): { problems: PolicyProblem[]; policy?: ReturnType<typeof parsePolicy> } {
  try {
    return { problems: [], policy: parsePolicy(input, where) };
  } catch (err) {
    if (err instanceof PolicyValidationError) return { problems: err.problems };
    throw err;
  }
}

export function buildApi(deps: ApiDeps): Router {
  const { store } = deps;
  const r = new Router(deps.authenticator, deps.log);

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
    handler: async ({ params }) => {
      const policy = await store.getPolicy(asAccountId(params.account), asPolicyId(params.policyId));
      if (!policy) throw new NotFoundError(`no policy ${JSON.stringify(params.policyId)} in account ${params.account}`);
      return { policy };
    },
  });

  r.add('PUT', '/accounts/{account}/policies/{policyId}', {
    params: policyParams,
    body: policyPut,
    handler: async ({ params, body }) => {
      const policy = parsePolicy(body.policy, `policy ${params.policyId}`);
      if (policy.id !== params.policyId) throw new InvalidArgumentError(`policy.id ${JSON.stringify(policy.id)}: expected ${JSON.stringify(params.policyId)} as in the path`);
      if (policy.account.id !== params.account) throw new InvalidArgumentError(`policy.account.id ${JSON.stringify(policy.account.id)}: expected ${JSON.stringify(params.account)} as in the path`);
      const stored = await store.putPolicy(asAccountId(params.account), { id: asPolicyId(policy.id), name: policy.name, body: policy as unknown as JsonObject }, body.expectedVersion);
      return { policy: stored };
    },
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
      const acc = asAccountId(params.account);
      const id = asSessionId(params.id);
      const session = await store.getSession(acc, id);
      if (!session) throw new NotFoundError(`no session ${JSON.stringify(params.id)} in account ${params.account}`);
      return { session, tasks: await store.listTasks(acc, id) };
    },
  });

  r.add('GET', '/accounts/{account}/restore-points', {
    params: account,
    handler: async ({ params }) => {
      const points = deps.repo ? await accountPoints(deps.repo, params.account) : [];
      return {
        restorePoints: points.map((m) => ({
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
        })),
      };
    },
  });

  r.add('POST', '/accounts/{account}/restores', {
    params: account,
    body: restoreBody,
    status: 202,
    handler: async ({ params, body }) => ({ restore: await restoresOf(deps).start(params.account, body) }),
  });

  r.add('GET', '/accounts/{account}/restores/{id}', {
    params: idParams,
    handler: async ({ params }) => ({ restore: restoresOf(deps).get(params.account, params.id) }),
  });

  return r;
}

function restoresOf(deps: ApiDeps): LocalRestoreJobs {
  if (!deps.restores) throw new NotFoundError('restores are not available on this server: start it with a repository');
  return deps.restores;
}
