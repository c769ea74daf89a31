// Routes of runs and restores: a session's log, the server's capabilities, and restores of every kind (start, list, progress, cancel).
import { z } from 'zod';
import { asAccountId, asSessionId } from '../../core/control/control-ids.ts';
import type { ControlStore, Session } from '../../core/control/control-store.ts';
import { InvalidArgumentError } from '../../core/errors.ts';
import { NotFoundError } from './api-errors.ts';
import { need, type ApiDeps } from './api-deps.ts';
import type { RestoreKind, RestoreService } from './ports.ts';
import { restoreBody } from './restore-requests.ts';
import type { Router } from './router.ts';
import { derivedSessionLog } from './session-log.ts';

const account = z.object({ account: z.string() });
const idParams = account.extend({ id: z.string() });

/** The session; InvalidArgumentError for a malformed id, NotFoundError when the account has no such session. */
export async function storedSession(store: ControlStore, account: string, id: string): Promise<Session> {
  const session = await store.getSession(asAccountId(account), asSessionId(id));
  if (!session) throw new NotFoundError(`no session ${JSON.stringify(id)} in account ${account}`);
  return session;
}

export function registerRunRoutes(r: Router, deps: ApiDeps): void {
  const { store } = deps;
  const restores = (): RestoreService => need(deps.restores, 'the restore service', 'start it with a repository');

  r.add('GET', '/accounts/{account}/sessions/{id}/log', {
    params: idParams,
    handler: async ({ params }) => {
      const session = await storedSession(store, params.account, params.id);
      const recorded = deps.sessionLog ? await deps.sessionLog.list(session.account, session.id) : [];
      return { entries: recorded.length > 0 ? recorded : derivedSessionLog(session, await store.listTasks(session.account, session.id)) };
    },
  });

  r.add('GET', '/capabilities', {
    handler: async () => {
      const offers = (kind: RestoreKind) => deps.restores?.kinds.includes(kind) ?? false;
      return {
        auth: deps.authenticator.kind ?? 'token',
        runNow: deps.runner !== undefined,
        planning: deps.inventory !== undefined,
        restores: { image: offers('image'), ebsVolume: offers('ebs-volume'), instance: offers('instance'), snapshot: offers('snapshot') },
      };
    },
  });

  r.add('POST', '/accounts/{account}/restores', {
    params: account,
    body: restoreBody,
    status: 202,
    handler: async ({ params, body }) => {
      const service = restores();
      if (!service.kinds.includes(body.kind)) throw new InvalidArgumentError(`kind ${JSON.stringify(body.kind)}: this server restores ${service.kinds.join(', ')}`);
      return { restore: await service.start(params.account, body) };
    },
  });

  r.add('GET', '/accounts/{account}/restores', {
    params: account,
    handler: async ({ params }) => ({ restores: await restores().list(params.account) }),
  });

  r.add('GET', '/accounts/{account}/restores/{id}', {
    params: idParams,
    handler: async ({ params }) => ({ restore: await restores().get(params.account, params.id) }),
  });

  r.add('POST', '/accounts/{account}/restores/{id}/cancel', {
    params: idParams,
    handler: async ({ params }) => ({ restore: await restores().cancel(params.account, params.id) }),
  });
}
