// Session bookkeeping for a run: the session, one task record per resource, and the final status.
import { ConflictError } from '../control/control-errors.ts';
import { asAccountId, asPolicyId, asResourceId, asSessionId } from '../control/control-ids.ts';
import { FINAL_TASK_STATUSES, type ControlStore, type Session, type SessionStatus } from '../control/control-store.ts';
import type { ItemResult } from './run-types.ts';

export async function startSession(store: ControlStore, account: string, policyId: string): Promise<Session> {
  return store.createSession(asAccountId(account), asPolicyId(policyId));
}

/** Creates a pending task per resource; a task already present (a retried state) is left as is. */
export async function recordTasks(store: ControlStore, account: string, sessionId: string, resourceIds: readonly string[]): Promise<void> {
  for (const id of resourceIds) {
    try {
      await store.putTask(asAccountId(account), asSessionId(sessionId), { resourceId: asResourceId(id), status: 'pending' });
    } catch (err) {
      if (!(err instanceof ConflictError)) throw err;
    }
  }
}

/** Marks a resource's task running, unless it already moved on (a retried state). */
export async function markTaskRunning(store: ControlStore, account: string, sessionId: string, resourceId: string): Promise<void> {
  const tasks = await store.listTasks(asAccountId(account), asSessionId(sessionId));
  const task = tasks.find((t) => t.resourceId === resourceId);
  if (task && task.status !== 'pending') return;
  if (!task) await recordTasks(store, account, sessionId, [resourceId]);
  await store.updateTask(asAccountId(account), asSessionId(sessionId), asResourceId(resourceId), { status: 'running' });
}

/** succeeded when every resource succeeded (or there were none), failed when none did, else partial. */
export function sessionStatusOf(results: readonly ItemResult[]): SessionStatus {
  const ok = results.filter((r) => r.status === 'succeeded').length;
  if (ok === results.length) return 'succeeded';
  return ok === 0 ? 'failed' : 'partial';
}

/** A one-line message for a failed item, from a Step Functions error ({Error, Cause}) or text. */
export function itemErrorText(error: ItemResult['error']): string {
  if (error === undefined) return 'failed';
  if (typeof error === 'string') return error;
  return [error.Error, error.Cause].filter(Boolean).join(': ') || 'failed';
}

export interface SessionOutcome {
  sessionId: string;
  status: SessionStatus;
  succeeded: number;
  failed: number;
}

/** Finalizes every task from the Map's results, then the session. Tasks already final are kept. */
export async function finishSession(store: ControlStore, account: string, sessionId: string, results: readonly ItemResult[], failure?: string): Promise<SessionOutcome> {
  const acc = asAccountId(account);
  const sid = asSessionId(sessionId);
  const existing = new Map((await store.listTasks(acc, sid)).map((t) => [t.resourceId as string, t]));
  for (const r of results) {
    const task = existing.get(r.resource.id);
    if (task && FINAL_TASK_STATUSES.includes(task.status)) continue;
    if (!task) await recordTasks(store, account, sessionId, [r.resource.id]);
    const error = r.status === 'failed' ? itemErrorText(r.error).slice(0, 1000) : null;
    await store.updateTask(acc, sid, asResourceId(r.resource.id), { status: r.status, error });
  }
  // Any worker slot still held by this session (a worker whose state ended without its release) is free again.
  await store.releaseWorkerSlots(acc, { sessionId });
  const status = failure ? 'failed' : sessionStatusOf(results);
  const failed = results.filter((r) => r.status === 'failed');
  const message = failure ?? (failed.length === 0 ? `${results.length} resource(s) protected` : `${failed.length} of ${results.length} resource(s) failed: ${failed.map((r) => r.resource.id).join(', ')}`);
  const session = await store.getSession(acc, sid);
  if (session && session.status !== 'running') return { sessionId, status: session.status, succeeded: results.length - failed.length, failed: failed.length };
  await store.updateSession(acc, sid, { status, message: message.slice(0, 1000) });
  return { sessionId, status, succeeded: results.length - failed.length, failed: failed.length };
}
