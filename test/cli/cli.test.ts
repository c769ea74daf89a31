// The cloudkeep command line as a user runs it: exit codes, messages, JSON, and a full flow.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mixedImage } from '../support/images.ts';
import { startFauxqs } from '../support/fauxqs.ts';

const MAIN = new URL('../../cli/main.ts', import.meta.url).pathname;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(args: string[], env: Record<string, string | undefined> = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], { env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

describe('cloudkeep CLI', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ck-cli-'));
    await writeFile(join(dir, 'disk.img'), mixedImage('cli', 3 * 1024 * 1024 + 77));
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  it('runs init, backup, list, restore and verify on a local repository, with JSON for scripts', async () => {
    const env = { CLOUDKEEP_PASSPHRASE: 'cli test passphrase', CLOUDKEEP_REPOSITORY: join(dir, 'repo') };
    assert.equal((await cli(['repo', 'init', '--json'], env)).code, 0);
    const backup = await cli(['backup', '--image', join(dir, 'disk.img'), '--json'], env);
    assert.equal(backup.code, 0, backup.stderr);
    const manifest = JSON.parse(backup.stdout);
    assert.equal(manifest.kind, 'full');
    assert.equal(manifest.resource.id, 'disk.img');
    const second = JSON.parse((await cli(['backup', '--image', join(dir, 'disk.img'), '--json'], env)).stdout);
    assert.equal(second.parent, manifest.id, 'the second backup chains to the first');
    assert.equal(second.stats.chunksNew, 0, 'an unchanged image stores no new chunk');
    const list = JSON.parse((await cli(['points', 'list', '--json'], env)).stdout);
    assert.equal(list.length, 2);
    const restored = join(dir, 'restored.img');
    const restore = await cli(['restore', 'latest', '--resource', 'disk.img', '--to', restored, '--json'], env);
    assert.equal(restore.code, 0, restore.stderr);
    assert.ok((await readFile(restored)).equals(await readFile(join(dir, 'disk.img'))));
    const again = await cli(['restore', manifest.id, '--to', restored], env);
    assert.equal(again.code, 2, 'an existing target is not overwritten without --force');
    assert.match(again.stderr, /exists.*--force/);
    const verify = JSON.parse((await cli(['repo', 'verify', '--full', '--json'], env)).stdout);
    assert.equal(verify.ok, true);
  });

  it('exits with distinct codes and clear messages for wrong passphrase, missing repository and bad flags', async () => {
    const repo = join(dir, 'repo2');
    assert.equal((await cli(['repo', 'init', '-q'], { CLOUDKEEP_PASSPHRASE: 'right', CLOUDKEEP_REPOSITORY: repo })).code, 0);
    const wrong = await cli(['points', 'list'], { CLOUDKEEP_PASSPHRASE: 'wrong', CLOUDKEEP_REPOSITORY: repo });
    assert.equal(wrong.code, 4);
    assert.match(wrong.stderr, /wrong passphrase/);
    assert.doesNotMatch(wrong.stderr, /right|wrong\b.*wrong/);
    const missing = await cli(['points', 'list'], { CLOUDKEEP_PASSPHRASE: 'x', CLOUDKEEP_REPOSITORY: join(dir, 'nothing-here') });
    assert.equal(missing.code, 3);
    assert.match(missing.stderr, /repo init/);
    const noPass = await cli(['points', 'list'], { CLOUDKEEP_REPOSITORY: repo });
    assert.equal(noPass.code, 2);
    assert.match(noPass.stderr, /CLOUDKEEP_PASSPHRASE/);
    const badFlag = await cli(['forget', '--keep-daily', '-3'], { CLOUDKEEP_PASSPHRASE: 'right', CLOUDKEEP_REPOSITORY: repo });
    assert.equal(badFlag.code, 2);
    assert.match(badFlag.stderr, /keepDaily.*-3/);
    const badUrl = await cli(['points', 'list'], { CLOUDKEEP_PASSPHRASE: 'x', CLOUDKEEP_REPOSITORY: 'ftp://host/x' });
    assert.equal(badUrl.code, 2);
    assert.match(badUrl.stderr, /unsupported repository URL "ftp:\/\/host\/x"/);
    const margin = await cli(['prune', '--safety-margin', '0h'], { CLOUDKEEP_PASSPHRASE: 'right', CLOUDKEEP_REPOSITORY: repo });
    assert.equal(margin.code, 2);
  });

  it('runs a scale-out repository over two directories and evacuates an extent', async () => {
    const desc = join(dir, 'extents.json');
    const extents = (maintenance: boolean) => JSON.stringify({ policy: 'performance', extents: [{ id: 'e0', url: join(dir, 'ext0') }, { id: 'e1', url: join(dir, 'ext1'), maintenance }] });
    await writeFile(desc, extents(false));
    const env = { CLOUDKEEP_PASSPHRASE: 'p', CLOUDKEEP_REPOSITORY: `scaleout:${desc}` };
    assert.equal((await cli(['repo', 'init', '-q', '--pack-size', '256KiB'], env)).code, 0);
    const first = await cli(['backup', '--image', join(dir, 'disk.img'), '--json'], env);
    assert.equal(first.code, 0, first.stderr);
    const early = await cli(['repo', 'evacuate-extent', 'e1'], env);
    assert.equal(early.code, 2);
    assert.match(early.stderr, /maintenance first/);
    await writeFile(desc, extents(true));
    const moved = await cli(['repo', 'evacuate-extent', 'e1', '--json'], env);
    assert.equal(moved.code, 0, moved.stderr);
    const restored = join(dir, 'scaleout-restored.img');
    assert.equal((await cli(['restore', 'latest', '--resource', 'disk.img', '--to', restored], env)).code, 0);
    assert.ok((await readFile(restored)).equals(await readFile(join(dir, 'disk.img'))));
    const bad = await cli(['points', 'list'], { ...env, CLOUDKEEP_REPOSITORY: `scaleout:${join(dir, 'missing.json')}` });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /cannot read scale-out description/);
  });

  it('uses an s3:// repository (fauxqs) with credentials from the environment', async (t) => {
    const s3 = await startFauxqs();
    t.after(() => s3.stop());
    const env = {
      CLOUDKEEP_PASSPHRASE: 'p',
      CLOUDKEEP_REPOSITORY: `s3://${s3.bucket}/cli-repo?region=us-east-1&endpoint=${encodeURIComponent(s3.endpoint)}&forcePathStyle=true`,
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
    };
    const init = await cli(['repo', 'init', '--json'], env);
    assert.equal(init.code, 0, init.stderr);
    const backup = await cli(['backup', '--image', join(dir, 'disk.img'), '--json'], env);
    assert.equal(backup.code, 0, backup.stderr);
    const verify = JSON.parse((await cli(['repo', 'verify', '--full', '--json'], env)).stdout);
    assert.equal(verify.ok, true);
    assert.ok(verify.packs > 0);
  });
});

it('commandNamed picks the one command module a run needs, or none when argv is not plain', async () => {
  const { commandNamed } = await import('../../cli/main.ts');
  const argv = (...a: string[]) => ['node', 'cloudkeep', ...a];
  assert.equal(commandNamed(argv('--repo', '/r', '--json', 'backup', '--image', 'x')), 'backup');
  assert.equal(commandNamed(argv('-r', 'backup', 'points', 'list')), 'points');
  assert.equal(commandNamed(argv('--threads', '2', 'restore', 'p1')), 'restore');
  assert.equal(commandNamed(argv('--key', 'passphrase', 'backup')), null);
  assert.equal(commandNamed(argv('--help')), null);
  assert.equal(commandNamed(argv('nonsense')), null);
  assert.equal(commandNamed(argv()), null);
});
