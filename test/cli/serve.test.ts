// `cloudkeep serve` as a user runs it: the API under /api and the console's files under /, the console
// URL with the new token printed once; SIGTERM stops it.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CONSOLE_LINE, killLeftovers, runCli, waitForOutput } from '../support/cli-process.ts';

const ACCOUNT = '000000000000';
const INDEX = '<!doctype html><title>console</title>';

describe('cloudkeep serve', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ck-serve-'));
    await mkdir(join(dir, 'site'));
    await writeFile(join(dir, 'site', 'index.html'), INDEX);
  });
  after(async () => {
    killLeftovers();
    await rm(dir, { recursive: true, force: true });
  });

  const serve = () => runCli(['serve', '--dir', join(dir, 'state'), '--port', '0', '--account', ACCOUNT], { CLOUDKEEP_CONSOLE_DIR: join(dir, 'site') });

  it('serves the console and the API; prints the console URL with the token it created', async () => {
    const run = serve();
    const [, url, token] = await waitForOutput(run, CONSOLE_LINE);
    assert.match(run.out.stdout, new RegExp(`bearer token \\(shown once, stored in \\S+tokens\\.json\\): ${token}\\n`));
    const page = await fetch(`${url}/`);
    assert.equal(page.status, 200);
    assert.equal(await page.text(), INDEX);
    const accounts = await fetch(`${url}/api/accounts`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(accounts.status, 200);
    assert.deepEqual(((await accounts.json()) as { accounts: unknown }).accounts, [{ id: ACCOUNT }]);
    assert.equal((await fetch(`${url}/api/accounts`)).status, 401);
    run.child.kill('SIGTERM');
    assert.equal(await run.exited, 0, run.out.stderr);
  });

  it('prints no token and no console URL when the token file exists already', async () => {
    const run = serve();
    await waitForOutput(run, /listening on http:\/\/127\.0\.0\.1:\d+\/api\n/);
    assert.doesNotMatch(run.out.stdout, /console:|bearer token/);
    run.child.kill('SIGTERM');
    assert.equal(await run.exited, 0, run.out.stderr);
  });
});
