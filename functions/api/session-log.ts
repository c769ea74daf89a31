// Session log adapters (memory; one JSON-lines file per session) and the log derived from a session and its tasks.
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { asAccountId, asSessionId } from '../../core/control/control-ids.ts';
import type { Session, Task } from '../../core/control/control-store.ts';
import type { SessionLog, SessionLogEntry } from './ports.ts';

const key = (account: string, sessionId: string) => `${asAccountId(account)}\n${asSessionId(sessionId)}`;

export class MemorySessionLog implements SessionLog {
  private readonly entries = new Map<string, SessionLogEntry[]>();

  async append(account: string, sessionId: string, entry: SessionLogEntry): Promise<void> {
    const k = key(account, sessionId);
    this.entries.set(k, [...(this.entries.get(k) ?? []), { ...entry }]);
  }

  async list(account: string, sessionId: string): Promise<SessionLogEntry[]> {
    return (this.entries.get(key(account, sessionId)) ?? []).map((e) => ({ ...e }));
  }
}

/** <dir>/<account, URL-encoded>/<session id>.jsonl, one entry per line (appends of one line are atomic enough locally). */
export class FileSessionLog implements SessionLog {
  private readonly root: string;

  constructor(dir: string) {
    this.root = resolve(dir);
  }

  async append(account: string, sessionId: string, entry: SessionLogEntry): Promise<void> {
    const dir = join(this.root, encodeURIComponent(asAccountId(account)));
    await mkdir(dir, { recursive: true });
    await appendFile(this.pathOf(account, sessionId), `${JSON.stringify(entry)}\n`);
  }

  async list(account: string, sessionId: string): Promise<SessionLogEntry[]> {
    let text: string;
    try {
      text = await readFile(this.pathOf(account, sessionId), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    // A line cut by a crash mid-append is skipped.
    return text.split('\n').flatMap((line) => {
      try {
        return line ? [JSON.parse(line) as SessionLogEntry] : [];
      } catch {
        return [];
      }
    });
  }

  private pathOf(account: string, sessionId: string): string {
    return join(this.root, encodeURIComponent(asAccountId(account)), `${asSessionId(sessionId)}.jsonl`);
  }
}

const TASK_END: Record<string, { level: SessionLogEntry['level']; text: string }> = {
  succeeded: { level: 'info', text: 'backup committed' },
  failed: { level: 'error', text: 'backup failed' },
  skipped: { level: 'warn', text: 'skipped' },
  cancelled: { level: 'warn', text: 'cancelled' },
};

/** The log of a session that recorded none: started, each task's start and end, finished. */
export function derivedSessionLog(session: Session, tasks: readonly Task[]): SessionLogEntry[] {
  const out: SessionLogEntry[] = [{ time: session.startedAt, level: 'info', message: `session started for policy ${session.policyId}` }];
  if (tasks.length > 0) out.push({ time: Math.min(...tasks.map((t) => t.createdAt)), level: 'info', message: `${tasks.length} resource(s) to back up` });
  for (const t of tasks) out.push({ time: t.createdAt, level: 'info', resourceId: t.resourceId, message: `task ${t.status === 'pending' ? 'queued' : 'started'}` });
  for (const t of tasks) {
    const end = TASK_END[t.status];
    if (!end) continue;
    const stored = t.sizes.storedBytes !== undefined ? ` (${t.sizes.storedBytes} bytes stored)` : '';
    const detail = t.error ? `: ${t.error}` : t.status === 'succeeded' ? stored : '';
    out.push({ time: t.endedAt ?? t.updatedAt, level: end.level, resourceId: t.resourceId, message: `${end.text}${detail}` });
  }
  if (session.endedAt !== null) {
    out.push({ time: session.endedAt, level: session.status === 'succeeded' ? 'info' : session.status === 'failed' ? 'error' : 'warn', message: `session ${session.status}${session.message ? `: ${session.message}` : ''}` });
  }
  return out.sort((a, b) => a.time - b.time);
}
