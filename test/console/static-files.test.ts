// The local server's console files: /api routing, content types, traversal refused, SPA fallback, caching, security headers.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TokenAuthenticator } from '../../functions/api/auth.ts';
import { startLocalServer, type LocalServer } from '../../functions/api/local-server.ts';
import { buildApi } from '../../functions/api/routes.ts';
import { MemoryControlStore } from '../../providers/memory/memory-control-store.ts';

const TOKEN = 't'.repeat(40);
const INDEX = '<!doctype html><title>console</title>';

/** A raw request, so the path reaches the server exactly as written (fetch would normalize ".."). */
function raw(server: LocalServer, method: string, path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  const { hostname, port } = new URL(server.url);
  return new Promise((ok, fail) => {
    const req = request({ hostname, port, method, path, headers }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => ok({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts).toString('utf8') }));
      res.on('error', fail);
    });
    req.on('error', fail);
    req.end();
  });
}

describe('local server with the console files', () => {
  let dir: string;
  let withFiles: LocalServer;
  let apiOnly: LocalServer;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cloudkeep-static-'));
    const site = join(dir, 'console');
    await mkdir(join(site, 'assets'), { recursive: true });
    await writeFile(join(site, 'index.html'), INDEX);
    await writeFile(join(site, 'assets', 'index-B5FD4KrZ.js'), 'console.log(1)');
    await writeFile(join(site, 'assets', 'index-C-VwYSQu.css'), 'body{}');
    await writeFile(join(site, 'favicon.svg'), '<svg/>');
    await writeFile(join(site, '.env'), 'SECRET=1');
    await writeFile(join(dir, 'secret.txt'), 'outside');
    await symlink(join(dir, 'secret.txt'), join(site, 'linked.txt'));
    const api = () => buildApi({ authenticator: new TokenAuthenticator({ [TOKEN]: { principal: 'p', accounts: ['123456789012'] } }), store: new MemoryControlStore() });
    withFiles = await startLocalServer(api(), 0, '127.0.0.1', { staticDir: site });
    apiOnly = await startLocalServer(api());
  });

  after(async () => {
    await withFiles.close();
    await apiOnly.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('routes /api/... to the API with /api stripped, and keeps the API at the root without staticDir', async () => {
    const auth = { authorization: `Bearer ${TOKEN}` };
    const viaPrefix = await raw(withFiles, 'GET', '/api/accounts', auth);
    assert.equal(viaPrefix.status, 200);
    assert.deepEqual(JSON.parse(viaPrefix.body).accounts, [{ id: '123456789012' }]);
    assert.equal((await raw(withFiles, 'GET', '/api/accounts')).status, 401);
    const atRoot = await raw(apiOnly, 'GET', '/accounts', auth);
    assert.equal(atRoot.status, 200);
    assert.equal((await raw(apiOnly, 'GET', '/api/accounts', auth)).status, 404);
  });

  it('serves files with their content types, immutable hashed assets and no-cache index.html', async () => {
    const js = await raw(withFiles, 'GET', '/assets/index-B5FD4KrZ.js');
    assert.equal(js.status, 200);
    assert.equal(js.body, 'console.log(1)');
    assert.equal(js.headers['content-type'], 'text/javascript; charset=utf-8');
    assert.equal(js.headers['cache-control'], 'public, max-age=31536000, immutable');
    const css = await raw(withFiles, 'GET', '/assets/index-C-VwYSQu.css');
    assert.equal(css.headers['content-type'], 'text/css; charset=utf-8');
    assert.equal((await raw(withFiles, 'GET', '/favicon.svg')).headers['content-type'], 'image/svg+xml');
    const index = await raw(withFiles, 'GET', '/');
    assert.equal(index.status, 200);
    assert.equal(index.body, INDEX);
    assert.equal(index.headers['content-type'], 'text/html; charset=utf-8');
    assert.equal(index.headers['cache-control'], 'no-cache');
    const head = await raw(withFiles, 'HEAD', '/assets/index-B5FD4KrZ.js');
    assert.equal(head.status, 200);
    assert.equal(head.body, '');
    assert.equal(head.headers['content-length'], String('console.log(1)'.length));
  });

  it('sets the security headers on static responses', async () => {
    for (const path of ['/', '/assets/index-B5FD4KrZ.js', '/no/such.js']) {
      const res = await raw(withFiles, 'GET', path);
      const csp = String(res.headers['content-security-policy']);
      assert.match(csp, /default-src 'self'/, path);
      assert.match(csp, /script-src 'self'(;|$)/, `${path}: no inline scripts`);
      assert.match(csp, /frame-ancestors 'none'/, path);
      assert.equal(res.headers['x-content-type-options'], 'nosniff', path);
      assert.equal(res.headers['referrer-policy'], 'no-referrer', path);
    }
  });

  it('answers SPA routes with index.html and missing assets with 404', async () => {
    for (const path of ['/policies', '/policies/new', '/sessions/abc?x=1', '/restore-points?resource=disk.img']) {
      const res = await raw(withFiles, 'GET', path, { accept: 'text/html' });
      assert.equal(res.status, 200, path);
      assert.equal(res.body, INDEX, path);
      assert.equal(res.headers['cache-control'], 'no-cache', path);
    }
    // A browser navigation to a route whose id has a dot is a route too.
    assert.equal((await raw(withFiles, 'GET', '/sessions/vol.img', { accept: 'text/html,*/*' })).body, INDEX);
    const missing = await raw(withFiles, 'GET', '/assets/index-XXXXXXXX.js', { accept: 'text/html' });
    assert.equal(missing.status, 404);
    assert.equal((await raw(withFiles, 'GET', '/logo.png')).status, 404);
  });

  it('refuses path traversal, hidden files, symlinks out of the directory and other methods', async () => {
    for (const path of ['/../secret.txt', '/assets/../../secret.txt', '/%2e%2e/secret.txt', '/..%2fsecret.txt', '/assets/..%2f..%2fsecret.txt', '/%2e%2e%5csecret.txt', '/a%00b', '/.env', '/%2eenv']) {
      const res = await raw(withFiles, 'GET', path, { accept: 'text/html' });
      assert.ok(res.status === 400 || res.status === 404, `${path}: ${res.status}`);
      assert.doesNotMatch(res.body, /outside|SECRET/, path);
      assert.notEqual(res.body, INDEX, path);
    }
    const linked = await raw(withFiles, 'GET', '/linked.txt');
    assert.equal(linked.status, 404);
    assert.doesNotMatch(linked.body, /outside/);
    const post = await raw(withFiles, 'POST', '/index.html');
    assert.equal(post.status, 405);
    assert.equal(post.headers.allow, 'GET, HEAD');
  });
});
