// Serves the console's built files (dist/console) from the local API server: content types, no path
// traversal, index.html for SPA routes, immutable caching for hashed assets, security headers.
import { readFile, realpath, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, resolve, sep } from 'node:path';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.webmanifest': 'application/manifest+json',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
};

/**
 * A Vite build loads only same-origin module scripts and stylesheets; Mantine sets inline style
 * attributes and a <style> element with its CSS variables, hence style-src 'unsafe-inline'.
 */
export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': CONSOLE_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

/** Vite names built assets `<name>-<hash>.<ext>` under assets/; those never change. */
const HASHED_ASSET = /^\/assets\/.+-[A-Za-z0-9_-]{8,}\.[a-z0-9]+$/;

export type StaticHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

function send(res: ServerResponse, status: number, headers: Record<string, string>, body: Buffer | string, head: boolean): void {
  const payload = typeof body === 'string' ? Buffer.from(body) : body;
  res.writeHead(status, { ...SECURITY_HEADERS, ...headers, 'content-length': String(payload.length) });
  res.end(head ? undefined : payload);
}

function plain(res: ServerResponse, status: number, message: string, head: boolean, extra: Record<string, string> = {}): void {
  send(res, status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', ...extra }, `${message}\n`, head);
}

async function regularFile(path: string): Promise<boolean> {
  return stat(path).then((s) => s.isFile(), () => false);
}

/** A handler serving GET and HEAD requests from `dir`; unknown extension-less paths get index.html. */
export function staticFiles(dir: string): StaticHandler {
  const root = resolve(dir);
  let realRoot: Promise<string> | undefined;
  return async (req, res) => {
    const head = req.method === 'HEAD';
    if (req.method !== 'GET' && !head) return plain(res, 405, `method ${req.method} is not supported here: expected GET or HEAD`, head, { allow: 'GET, HEAD' });
    let path: string;
    try {
      // The raw path: URL parsing would resolve "/../x" to "/x" and hide the attempt.
      path = decodeURIComponent((req.url ?? '/').split(/[?#]/, 1)[0]);
    } catch {
      return plain(res, 400, 'invalid path: expected URL-encoded text', head);
    }
    // Reject, rather than normalize, anything that could leave the directory or reach hidden files.
    const segments = path.split('/');
    if (!path.startsWith('/') || path.includes('\0') || path.includes('\\') || segments.some((s) => s.startsWith('.'))) {
      return plain(res, 400, `invalid path ${JSON.stringify(path)}: expected a file of the console`, head);
    }
    const file = resolve(root, `.${path}`);
    if (file !== root && !file.startsWith(root + sep)) return plain(res, 400, 'invalid path: outside the console directory', head);
    if (path !== '/' && (await regularFile(file))) {
      realRoot ??= realpath(root);
      const real = await realpath(file);
      if (!real.startsWith((await realRoot) + sep)) return plain(res, 404, 'not found', head);
      const cache = HASHED_ASSET.test(path) ? 'public, max-age=31536000, immutable' : path === '/index.html' ? 'no-cache' : 'public, max-age=300';
      return send(res, 200, { 'content-type': CONTENT_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream', 'cache-control': cache }, await readFile(real), head);
    }
    // A missing asset is a 404; a page navigation to any other path is a console route the SPA
    // renders from index.html (resource ids may contain dots, so the extension alone cannot decide).
    const navigation = (req.headers.accept ?? '').includes('text/html');
    if (path.startsWith('/assets/') || (extname(path) !== '' && !navigation)) return plain(res, 404, `no file ${path}`, head);
    const index = resolve(root, 'index.html');
    if (!(await regularFile(index))) return plain(res, 404, 'the console is not built: run npm run build:console', head);
    return send(res, 200, { 'content-type': CONTENT_TYPES['.html'], 'cache-control': 'no-cache' }, await readFile(index), head);
  };
}
