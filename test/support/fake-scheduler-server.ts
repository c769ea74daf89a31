// A stateful EventBridge Scheduler stand-in on loopback speaking its REST-JSON protocol; records every request.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SchedulerRequest {
  method: string;
  /** Decoded path, e.g. /schedules/cloudkeep-web-snapshots. */
  path: string;
  query: URLSearchParams;
  body: Record<string, unknown> | undefined;
}

export interface FakeScheduler {
  endpoint: string;
  requests: SchedulerRequest[];
  /** Stored schedules by "group/name": the request bodies of the last create or update. */
  schedules: Map<string, Record<string, unknown>>;
  /** Answers the next requests with this error instead (status, x-amzn-errortype), once each. */
  failNext: Array<{ status: number; type: string }>;
  close(): Promise<void>;
}

export interface FakeSchedulerOptions {
  /** ListSchedules page size (small, to exercise NextToken). @default 2 */
  pageSize?: number;
}

export async function startFakeScheduler(options: FakeSchedulerOptions = {}): Promise<FakeScheduler> {
  const pageSize = options.pageSize ?? 2;
  const requests: SchedulerRequest[] = [];
  const schedules = new Map<string, Record<string, unknown>>();
  const failNext: FakeScheduler['failNext'] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://fake');
      const text = Buffer.concat(chunks).toString('utf8');
      const body = text ? (JSON.parse(text) as Record<string, unknown>) : undefined;
      const recorded: SchedulerRequest = { method: req.method ?? '', path: decodeURIComponent(url.pathname), query: url.searchParams, body };
      requests.push(recorded);
      const reply = (status: number, payload: unknown, errorType?: string) => {
        res.writeHead(status, { 'content-type': 'application/json', ...(errorType ? { 'x-amzn-errortype': errorType } : {}) });
        res.end(JSON.stringify(payload));
      };
      const error = (status: number, type: string, message: string) => reply(status, { Message: message }, type);
      const injected = failNext.shift();
      if (injected) return error(injected.status, injected.type, 'injected failure');
      const m = /^\/schedules\/([^/]+)$/.exec(recorded.path);
      if (m) {
        const name = m[1];
        const group = (body?.GroupName as string | undefined) ?? url.searchParams.get('groupName') ?? 'default';
        const key = `${group}/${name}`;
        const arn = `arn:aws:scheduler:eu-west-1:123456789012:schedule/${group}/${name}`;
        if (recorded.method === 'POST') {
          if (schedules.has(key)) return error(409, 'ConflictException', `Schedule ${name} already exists.`);
          schedules.set(key, { ...body, Name: name, GroupName: group });
          return reply(200, { ScheduleArn: arn });
        }
        if (recorded.method === 'PUT' || recorded.method === 'DELETE' || recorded.method === 'GET') {
          const current = schedules.get(key);
          if (!current) return error(404, 'ResourceNotFoundException', `Schedule ${name} does not exist.`);
          if (recorded.method === 'PUT') schedules.set(key, { ...body, Name: name, GroupName: group });
          if (recorded.method === 'DELETE') schedules.delete(key);
          return reply(200, recorded.method === 'GET' ? { ...current, Arn: arn } : recorded.method === 'PUT' ? { ScheduleArn: arn } : {});
        }
      }
      if (recorded.path === '/schedules' && recorded.method === 'GET') {
        const group = url.searchParams.get('ScheduleGroup') ?? 'default';
        const prefix = url.searchParams.get('NamePrefix') ?? '';
        const all = [...schedules.values()].filter((s) => s.GroupName === group && String(s.Name).startsWith(prefix)).sort((a, b) => String(a.Name).localeCompare(String(b.Name)));
        const start = Number(url.searchParams.get('NextToken') ?? '0');
        const page = all.slice(start, start + pageSize);
        const next = start + pageSize < all.length ? String(start + pageSize) : undefined;
        return reply(200, {
          Schedules: page.map((s) => ({ Name: s.Name, GroupName: s.GroupName, State: 'ENABLED', Target: { Arn: (s.Target as { Arn?: string } | undefined)?.Arn } })),
          ...(next ? { NextToken: next } : {}),
        });
      }
      return error(400, 'ValidationException', `unsupported ${recorded.method} ${recorded.path}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    schedules,
    failNext,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
