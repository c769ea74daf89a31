// Issue 5's "done when" in a browser: `cloudkeep start` (the real local control plane: demo volumes, the
// state machine, worker processes), its printed console URL opened in Chromium, a new policy made in the
// editor and run now, then its newest restore point restored through the wizard; the restored file must
// hold exactly the bytes of the snapshot the point was made from. Then SIGTERM stops the server cleanly.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse, stringify } from 'yaml';
import { openRepo } from '../../cli/context.ts';
import { LocalScheduler } from '../../providers/local/local-scheduler.ts';
import { LocalVolumeProvider } from '../../providers/local/local-volume-provider.ts';
import { CONSOLE_LINE, killLeftovers, runCli, waitForOutput, type CliProcess } from '../support/cli-process.ts';
import { buildConsole, openBrowser, type Browser } from './console-fixture.ts';

const ACCOUNT = '000000000000';
const VOLUME = 'vol-demo-2';
const POLICY = 'e2e-one-volume';
// Generous: a loaded 2-core machine; every wait is on a condition.
const WAIT = { timeout: 45_000 };
// Written into the volume before the run: the incremental must read and restore it.
const CHANGE = { offset: 3 * 1024 * 1024 + 4096, data: randomBytes(4096) };

interface Point { id: string; resource: { id: string }; finishedAt: string; disks: Array<{ name: string; size: number }>; tags: Record<string, string> }

describe('console end to end on `cloudkeep start`', { timeout: 170_000 }, () => {
  let dir = '';
  let server: CliProcess | undefined;
  let browser: Browser | undefined;
  let url = '';
  let token = '';
  let sessionId = '';
  const local = () => join(dir, 'local');
  const volumes = () => new LocalVolumeProvider({ root: join(local(), 'volumes') });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ck-console-e2e-'));
    // The console as built from these sources (npm start builds dist/console the same way).
    await buildConsole(join(dir, 'site'));
    server = runCli(['start', '--dir', local(), '--size', '16MiB', '--port', '0'], { CLOUDKEEP_CONSOLE_DIR: join(dir, 'site') });
    [, url, token] = await waitForOutput(server, CONSOLE_LINE, 120_000);
    browser = await openBrowser(join(dir, 'profile'));
  });

  after(async () => {
    await browser?.context.close();
    killLeftovers();
    await rm(dir, { recursive: true, force: true });
  });

  /** Waits for the wizard's restore to end; it must have succeeded (else the page's error is the message). */
  const restoreSucceeds = async () => {
    const { page } = browser!;
    const status = page.locator('[data-testid="restore-status"]:not([data-status="running"])');
    await status.waitFor({ timeout: 60_000 });
    if ((await status.getAttribute('data-status')) !== 'succeeded') assert.fail(`the restore ended ${await status.getAttribute('data-status')}: ${await page.getByTestId('restore-progress').innerText()}\n${server!.out.stderr}`);
  };

  const api = async <T>(path: string): Promise<T> => {
    const res = await fetch(`${url}/api${path}`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(res.status, 200, `GET ${path}: ${res.status} ${await res.clone().text()}`);
    return res.json() as Promise<T>;
  };

  it('opens the printed URL: the dashboard shows the demo policy\'s last session succeeded', async () => {
    const { page, screenshot } = browser!;
    await page.goto(`${url}/?token=${token}`);
    await page.getByTestId('dashboard-page').waitFor(WAIT);
    const demo = page.getByTestId('last-sessions').locator('tr', { hasText: 'local-demo' });
    await demo.locator('[data-status="succeeded"]').waitFor(WAIT);
    assert.equal(await page.getByTestId('protected-count').innerText(), '2');
    await screenshot('e2e-dashboard');
  });

  it('creates a policy for one volume in the editor (copy of the demo policy), saves it and runs it now', async () => {
    const { page, screenshot } = browser!;
    await page.getByTestId('nav-policies').click();
    await page.locator('[data-testid="policy-row"][data-policy-id="local-demo"] a').click();
    const editor = page.getByTestId('policy-text');
    await editor.waitFor(WAIT);
    const demo = parse(await editor.inputValue()) as Record<string, unknown>;
    assert.equal(demo.id, 'local-demo');

    await page.getByTestId('nav-policies').click();
    await page.getByTestId('policy-new').click();
    await page.getByTestId('policy-valid').waitFor(WAIT);
    const copy = { ...demo, id: POLICY, name: `E2E: ${VOLUME} only`, selection: { resourceTypes: ['ebs-volume'], ids: [VOLUME] } };
    await editor.fill(stringify(copy));
    await page.getByTestId('policy-valid').waitFor(WAIT);
    const selected = page.getByTestId('plan-selected');
    await selected.filter({ hasText: VOLUME }).waitFor(WAIT);
    assert.doesNotMatch(await selected.innerText(), /vol-demo-1/);
    await screenshot('e2e-policy-new');
    await page.getByTestId('policy-save').click();
    await page.getByTestId('policy-notice').filter({ hasText: 'Saved version 1' }).waitFor(WAIT);
    assert.equal(new URL(page.url()).pathname, `/policies/${POLICY}`);
    const schedules = await new LocalScheduler(join(local(), 'schedules')).list('cloudkeep');
    assert.deepEqual(schedules.map((x) => `${x.name} ${x.expression}`), ['cloudkeep-e2e-one-volume-backup rate(1 day)', 'cloudkeep-local-demo-backup rate(1 day)'], 'the saved policy is scheduled');

    // The server is idle: the volume changes as a user's disk would between runs.
    await volumes().writeVolume(VOLUME, CHANGE.offset, CHANGE.data);
    await page.getByTestId('policy-run').click();
    await page.getByTestId('session-page').waitFor(WAIT);
    sessionId = decodeURIComponent(new URL(page.url()).pathname.split('/').pop()!);
    await page.locator('[data-testid="session-status"][data-status="succeeded"]').waitFor({ timeout: 90_000 });
    const task = page.locator(`[data-testid="task"][data-resource-id="${VOLUME}"]`);
    await task.locator('[data-testid="task-status"][data-status="succeeded"]').waitFor(WAIT);
    await task.locator('[role="progressbar"][aria-valuenow="100"]').waitFor(WAIT);
    assert.equal(await page.locator('[data-testid="task"]').count(), 1, 'only the selected volume is backed up');
    assert.match(await task.innerText(), /read 512 KiB/, 'the incremental reads the one changed block');
    await page.getByTestId('session-log').filter({ hasText: 'backup committed' }).waitFor(WAIT);
    await screenshot('e2e-session');
  });

  it('restores the newest restore point of the volume through the wizard: the file equals the point\'s snapshot', async () => {
    const { page, screenshot } = browser!;
    const { restorePoints } = await api<{ restorePoints: Point[] }>(`/accounts/${ACCOUNT}/restore-points`);
    const newest = restorePoints.filter((p) => p.resource.id === VOLUME).sort((a, b) => Date.parse(b.finishedAt) - Date.parse(a.finishedAt))[0];
    assert.equal(newest.tags['cloudkeep:session'], sessionId, 'the newest point of the volume is the run\'s');
    assert.deepEqual(newest.disks.map((d) => d.name), [VOLUME], 'a local volume\'s one disk is named after it');

    await page.getByTestId('nav-restore-points').click();
    await page.locator(`[data-testid="resource-item"][data-resource-id="${VOLUME}"]`).click();
    const point = page.locator(`[data-testid="timeline-point"][data-point-id="${newest.id}"]`);
    await point.waitFor(WAIT);
    await screenshot('e2e-restore-points');
    await point.getByTestId('point-restore').click();
    const target = page.getByTestId('restore-target');
    await target.waitFor(WAIT);
    assert.equal(await page.getByTestId('restore-disk').locator(`input[value="${VOLUME}"]`).isChecked(), true, 'the wizard picks the point\'s disk');
    const file = await target.inputValue();
    assert.ok(file.startsWith(`${VOLUME}-`) && file.endsWith('.img'), file);
    await screenshot('e2e-restore-wizard');
    await page.getByTestId('restore-start').click();
    await restoreSucceeds();
    await page.getByTestId('restore-verified').waitFor(WAIT);
    await screenshot('e2e-restore-done');

    const repo = await openRepo({ repo: join(local(), 'repo'), passphraseFile: join(local(), 'passphrase') });
    const disk = (await repo.readManifest(newest.id)).disks.find((d) => d.name === VOLUME)!;
    assert.ok((await volumes().listSnapshots(VOLUME)).some((s) => s.snapshotId === disk.snapshotId), `snapshot ${disk.snapshotId} of ${VOLUME} is kept`);
    const restored = await readFile(join(local(), 'restores', file));
    const snapshot = await readFile(volumes().snapshotPath(disk.snapshotId));
    assert.equal(restored.length, snapshot.length);
    assert.ok(restored.equals(snapshot), 'the restored bytes equal the snapshot the point was made from');
    assert.ok(restored.subarray(CHANGE.offset, CHANGE.offset + CHANGE.data.length).equals(CHANGE.data), 'with the change made before the run');
    assert.equal(await page.getByTestId('restore-bytes').innerText(), String(snapshot.length));

    // An older point of the same volume and day (the demo's): the wizard proposes a file of its own.
    const older = restorePoints.find((p) => p.resource.id === VOLUME && p.id !== newest.id)!;
    await page.getByTestId('nav-restore-points').click();
    await page.locator(`[data-testid="resource-item"][data-resource-id="${VOLUME}"]`).click();
    await page.locator(`[data-testid="timeline-point"][data-point-id="${older.id}"]`).getByTestId('point-restore').click();
    await page.getByTestId('restore-point-summary').filter({ hasText: older.id }).waitFor(WAIT);
    const second = await target.inputValue();
    assert.notEqual(second, file, 'two points of a volume restore to two files');
    await page.getByTestId('restore-start').click();
    await restoreSucceeds();
    const olderDisk = (await repo.readManifest(older.id)).disks[0];
    assert.ok((await readFile(join(local(), 'restores', second))).equals(await readFile(volumes().snapshotPath(olderDisk.snapshotId))), 'the older point restores its own snapshot');
  });

  it('raised no page errors; SIGTERM stops the server with exit code 0', async () => {
    assert.deepEqual(browser!.errors, []);
    server!.child.kill('SIGTERM');
    assert.equal(await server!.exited, 0, server!.out.stderr);
    assert.match(server!.out.stdout, /SIGTERM: stopping[^\n]*\nstopped\n/);
  });
});
