// `cloudkeep start` as a user runs it: the demo through the state machine with worker processes, the
// summary and an identical restore; then the API on 127.0.0.1 with the printed token until SIGTERM.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LocalVolumeProvider } from '../../providers/local/local-volume-provider.ts';
import { CONSOLE_LINE, killLeftovers, runCli, waitForOutput } from '../support/cli-process.ts';

const ACCOUNT = '000000000000';
const start = (args: string[]) => runCli(['start', ...args]);

describe('cloudkeep start', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ck-start-'));
  });
  after(async () => {
    killLeftovers();
    await rm(dir, { recursive: true, force: true });
  });

  it('--no-serve runs a full and an incremental backup of two volumes, prints the summary, restores identically, exits', async () => {
    const run = start(['--no-serve', '--size', '4MiB', '--dir', join(dir, 'local')]);
    assert.equal(await run.exited, 0, run.out.stderr);
    const text = run.out.stdout;
    assert.match(text, /created volume vol-demo-1 \(4\.00 MiB\)/);
    assert.match(text, /vol-demo-1: full restore point \S+, read/);
    assert.match(text, /vol-demo-2: incremental restore point \S+, read 512 KiB of 4\.00 MiB/, 'the incremental reads only the changed block');
    assert.match(text, /summary: 4 restore points of 2 volumes \(4\.00 MiB each\) stored in [\d.]+ \w+ \(reduction [\d.]+x\)/);
    assert.match(text, /full backup [\d.]+ [kMG]?B\/s \(2 workers in parallel\), incremental [\d.]+ s for 2 changed blocks, restore [\d.]+ [kMG]?B\/s/);
    assert.match(text, /bottleneck of the full backup: [a-z ]+; restore: identical to the snapshot; verify: clean/);
    assert.doesNotMatch(text, /console:/);
    const volumes = new LocalVolumeProvider({ root: join(dir, 'local', 'volumes') });
    const newest = (await volumes.listSnapshots('vol-demo-1')).sort((a, b) => a.createdAt - b.createdAt).at(-1)!;
    const restored = await readFile(join(dir, 'local', 'restores', 'vol-demo-1-check.img'));
    assert.ok(restored.equals(await readFile(volumes.snapshotPath(newest.snapshotId))), 'the restored image equals the newest snapshot');
  });

  it('serves the API with the printed token: accounts and restore points of the one local account; SIGTERM stops it cleanly', async () => {
    const run = start(['--port', '0', '--size', '4MiB', '--dir', join(dir, 'local')]);
    const [, url, token] = await waitForOutput(run, CONSOLE_LINE);
    const get = async (path: string) => {
      const res = await fetch(`${url}/api${path}`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(res.status, 200, `${path}: ${res.status}`);
      return res.json() as Promise<Record<string, unknown>>;
    };
    assert.deepEqual((await get('/accounts')).accounts, [{ id: ACCOUNT }]);
    const points = (await get(`/accounts/${ACCOUNT}/restore-points`)).restorePoints as Array<{ resource: { id: string; account: string } }>;
    for (const id of ['vol-demo-1', 'vol-demo-2']) assert.ok(points.filter((p) => p.resource.id === id).length >= 1, `restore points of ${id}`);
    assert.deepEqual([...new Set(points.map((p) => p.resource.account))], [ACCOUNT]);
    assert.equal((await fetch(`${url}/api/accounts`)).status, 401, 'no token, no answer');
    run.child.kill('SIGTERM');
    assert.equal(await run.exited, 0, run.out.stderr);
    assert.match(run.out.stdout, /SIGTERM: stopping[^\n]*\nstopped\n/);
  });
});
