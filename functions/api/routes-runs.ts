// Routes of runs and restores: a session's log, and the restores of the local server (start, list, progress, cancel).
import { z } from 'zod';
import { asAccountId, asSessionId } from '../../core/control/control-ids.ts';
import type { ControlStore, Session } from '../../core/control/control-store.ts';
import { NotFoundError } from './api-errors.ts';
import { need, type ApiDeps } from './api-deps.ts';
import type { RestoreService } from './ports.ts';
import type { Router } from './router.ts';
import { derivedSessionLog } from './session-log.ts';

const account = z.object({ account: z.string() });
const idParams = account.extend({ id: z.string() });
const restoreBody = z.strictObject({ pointId: z.string().min(1), disk: z.string().min(1).default('root'), targetPath: z.string().min(1) });

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

  r.add('POST', '/accounts/{account}/restores', {
    params: account,
    body: restoreBody,
    status: 202,
    handler: async ({ params, body }) => ({ restore: await restores().start(params.account, body) }),
  });

  r.add('GET', '/accounts/{account}/restores', {
    params: account,
    handler: async ({ params }) => ({ restores: restores().list(params.account) }),
  });

  r.add('GET', '/accounts/{account}/restores/{id}', {
    params: idParams,
    handler: async ({ params }) => ({ restore: restores().get(params.account, params.id) }),
  });

  r.add('POST', '/accounts/{account}/restores/{id}/cancel', {
    params: idParams,
    handler: async ({ params }) => ({ restore: await restores().cancel(params.account, params.id) }),
  });
}
