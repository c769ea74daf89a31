// A stand-in for CloudFront in front of the console's origin: passes every request through and sets the
// response's Content-Security-Policy (as the distribution's response headers policy does, with override).
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CONSOLE_CSP } from '../../functions/api/static-files.ts';

/** The console's CSP with the Cognito endpoints the sign-in calls, as infra/console-hosting.ts builds it. */
export function awsConsoleCsp(connectSources: string[]): string {
  return CONSOLE_CSP.replace("connect-src 'self'", ["connect-src 'self'", ...connectSources].join(' '));
}

export async function startCspFront(originUrl: string, csp: string) {
  const origin = new URL(originUrl);
  const server = createServer((req, res) => {
    const upstream = request({ hostname: origin.hostname, port: origin.port, method: req.method, path: req.url, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, { ...up.headers, 'content-security-policy': csp });
      up.pipe(res);
    });
    upstream.on('error', () => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end('origin unreachable\n');
    });
    req.pipe(upstream);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const close = () => new Promise<void>((ok) => {
    server.closeAllConnections();
    server.close(() => ok());
  });
  return { url, close };
}
