// The local API server: node:http in front of the same router the Lambda handler uses, and
// optionally the console's static files (then the API moves under /api, as behind CloudFront).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ApiRequest, Router } from './router.ts';
import { staticFiles, type StaticHandler } from './static-files.ts';

const MAX_BODY = 1024 * 1024;

async function readBody(req: IncomingMessage): Promise<string | undefined> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new Error('body too large');
    parts.push(chunk as Buffer);
  }
  return parts.length ? Buffer.concat(parts).toString('utf8') : undefined;
}

export interface LocalServer {
  server: Server;
  url: string;
  close(): Promise<void>;
}

export interface LocalServerOptions {
  /**
   * The built console (dist/console). When set, paths under /api/ go to the router with /api
   * stripped and every other GET serves a file; when absent, the router answers every path.
   */
  staticDir?: string;
}

/** The path the router sees, or undefined when the request is for the console's files. */
function apiPath(pathname: string, files: StaticHandler | undefined): string | undefined {
  if (!files) return pathname;
  if (pathname === '/api' || pathname.startsWith('/api/')) return pathname.slice('/api'.length) || '/';
  return undefined;
}

async function serveApi(router: Router, req: IncomingMessage, res: ServerResponse, url: URL, path: string): Promise<void> {
  const headers: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(req.headers)) headers[k] = Array.isArray(v) ? v.join(',') : v;
  let body: string | undefined;
  try {
    body = await readBody(req);
  } catch {
    res.writeHead(413, { 'content-type': 'application/json' }).end(JSON.stringify({ message: 'request body too large', requestId: null }));
    return;
  }
  const apiReq: ApiRequest = { method: req.method ?? 'GET', path, query: Object.fromEntries(url.searchParams), headers, body };
  const out = await router.handle(apiReq);
  res.writeHead(out.statusCode, out.headers).end(out.body);
}

/** Listens on host:port (port 0: a free one) and answers every request through the router (and the console's files). */
export async function startLocalServer(router: Router, port = 0, host = '127.0.0.1', options: LocalServerOptions = {}): Promise<LocalServer> {
  const files = options.staticDir === undefined ? undefined : staticFiles(options.staticDir);
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = apiPath(url.pathname, files);
    const done = files && path === undefined ? files(req, res) : serveApi(router, req, res, url, path ?? url.pathname);
    done.catch(() => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('internal error\n');
    });
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(port, host, () => ok());
  });
  const addr = server.address() as AddressInfo;
  return {
    server,
    url: `http://${host}:${addr.port}`,
    close: () => new Promise<void>((ok) => server.close(() => ok())),
  };
}
