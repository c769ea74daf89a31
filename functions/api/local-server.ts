// The local API server: node:http in front of the same router the Lambda handler uses.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ApiRequest, Router } from './router.ts';

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

/** Listens on host:port (port 0: a free one) and answers every request through the router. */
export async function startLocalServer(router: Router, port = 0, host = '127.0.0.1'): Promise<LocalServer> {
  const server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const headers: Record<string, string | undefined> = {};
      for (const [k, v] of Object.entries(req.headers)) headers[k] = Array.isArray(v) ? v.join(',') : v;
      let body: string | undefined;
      try {
        body = await readBody(req);
      } catch {
        res.writeHead(413, { 'content-type': 'application/json' }).end(JSON.stringify({ message: 'request body too large', requestId: null }));
        return;
      }
      const apiReq: ApiRequest = { method: req.method ?? 'GET', path: url.pathname, query: Object.fromEntries(url.searchParams), headers, body };
      const out = await router.handle(apiReq);
      res.writeHead(out.statusCode, out.headers).end(out.body);
    })();
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
