// The console in Chromium against the local API server (with the test inventory, runner and snapshot
// catalog): login, dashboard, a policy with a validation error fixed and saved, its plan, run now and the
// session view, the restore points browser, and a restore whose file equals the source image.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { asAccountId, asPolicyId, asResourceId, asSessionId } from '../../core/control/control-ids.ts';
import { A, TOKEN_A } from '../api/api-fixture.ts';
import { startConsole } from './console-fixture.ts';

const TIMEOUT = { timeout: 15_000 };

describe('console in Chromium', { timeout: 90_000 }, () => {
  let c: Awaited<ReturnType<typeof startConsole>>;

  before(async () => {
    c = await startConsole();
  });

  after(async () => {
    await c?.close();
  });

  it('logs in with the token: a wrong one is rejected, ?token= logs in and leaves the address', async () => {
    const { page } = c;
    await page.goto(`${c.url}/`);
    await page.getByTestId('login-form').waitFor(TIMEOUT);
    await c.screenshot('login');
    await page.getByTestId('login-token').fill('wrong-token');
    await page.getByTestId('login-submit').click();
    await page.getByTestId('login-rejected').waitFor(TIMEOUT);
    await page.getByTestId('login-token').fill(TOKEN_A);
    await page.getByTestId('login-submit').click();
    await page.getByTestId('dashboard-page').waitFor(TIMEOUT);

    await page.evaluate(() => sessionStorage.clear());
    await page.goto(`${c.url}/?token=${TOKEN_A}`);
    await page.getByTestId('dashboard-page').waitFor(TIMEOUT);
    assert.equal(new URL(page.url()).search, '', 'the token is removed from the address');
    assert.equal(await page.getByTestId('account-picker').inputValue(), A);
  });

  it('shows the dashboard: protected and unprotected resources, recent sessions', async () => {
    const { page } = c;
    await page.getByTestId('protected-count').waitFor(TIMEOUT);
    assert.equal(await page.getByTestId('protected-count').innerText(), '0');
    assert.equal(await page.getByTestId('unprotected-count').innerText(), '3');
    await page.getByTestId('no-sessions').waitFor(TIMEOUT);
    await page.getByTestId('repository-usage').waitFor(TIMEOUT);
    await c.screenshot('dashboard');
  });

  it('creates a policy: a bad value is listed with its path, then fixed, planned, saved, disabled and enabled', async () => {
    const { page } = c;
    const acc = asAccountId(A);
    const pid = asPolicyId('web-nightly');
    await page.getByTestId('nav-policies').click();
    await page.getByTestId('policies-page').waitFor(TIMEOUT);
    await page.getByTestId('policy-new').click();
    const editor = page.getByTestId('policy-text');
    await editor.waitFor(TIMEOUT);
    const template = await editor.inputValue();
    assert.match(template, new RegExp(`id: "${A}"`));
    await page.getByTestId('policy-valid').waitFor(TIMEOUT);

    const bad = template.replace('id: new-policy', 'id: web-nightly').replace('eu-central-1', 'eu-west-1').replace('schedule: "0 2 * * *"', 'schedule: "every tuesday"');
    await editor.fill(bad);
    const problem = page.locator('[data-testid="policy-problem"][data-path="backup.schedule"]');
    await problem.waitFor(TIMEOUT);
    assert.match(await problem.innerText(), /backup\.schedule/);
    assert.equal(await page.getByTestId('policy-save').isDisabled(), true);
    await c.screenshot('policy-invalid');

    await editor.fill(bad.replace('schedule: "every tuesday"', 'schedule: "15 3 * * *"'));
    await page.getByTestId('policy-valid').waitFor(TIMEOUT);
    const selected = page.getByTestId('plan-selected');
    await selected.waitFor(TIMEOUT);
    assert.match(await selected.innerText(), new RegExp(`vol-${A}[\\s\\S]*vol-new`));
    assert.doesNotMatch(await selected.innerText(), /vol-other/);
    await page.getByTestId('next-runs-backup').waitFor(TIMEOUT);
    await page.getByTestId('policy-save').click();
    await page.getByTestId('policy-notice').filter({ hasText: 'Saved version 1' }).waitFor(TIMEOUT);
    assert.equal(new URL(page.url()).pathname, '/policies/web-nightly');
    const stored = (await c.store.getPolicy(acc, pid))!;
    assert.equal(stored.version, 1);
    assert.equal((stored.body.backup as { schedule: string }).schedule, '15 3 * * *');
    await c.screenshot('policy-saved');


    await page.getByTestId('policy-enabled').dispatchEvent('click');
    await page.getByTestId('policy-notice').filter({ hasText: 'Disabled' }).waitFor(TIMEOUT);
    assert.equal((await c.store.getPolicy(acc, pid))!.body.enabled, false);
    await page.getByTestId('policy-enabled').dispatchEvent('click');
    await page.getByTestId('policy-notice').filter({ hasText: 'Enabled' }).waitFor(TIMEOUT);
    assert.equal((await c.store.getPolicy(acc, pid))!.body.enabled, true);
  });

  it('runs the policy now and follows the session: progress, final status, bottleneck, log', async () => {
    const { page } = c;
    await page.getByTestId('policy-run').click();
    await page.getByTestId('session-page').waitFor(TIMEOUT);
    const sessionId = decodeURIComponent(new URL(page.url()).pathname.split('/').pop()!);
    await page.locator('[data-testid="session-status"][data-status="running"]').waitFor(TIMEOUT);
    const task = page.locator(`[data-testid="task"][data-resource-id="vol-${A}"]`);
    await task.waitFor(TIMEOUT);

    const acc = asAccountId(A);
    const sid = asSessionId(sessionId);
    const rid = asResourceId(`vol-${A}`);
    await c.store.updateTask(acc, sid, rid, { progress: { bytesDone: 350, bytesTotal: 700 } });
    await task.locator('[role="progressbar"][aria-valuenow="50"]').waitFor(TIMEOUT);
    await c.screenshot('session-running');

    await c.store.updateTask(acc, sid, rid, { status: 'succeeded', progress: { bytesDone: 700 }, sizes: { sourceBytes: 700, readBytes: 700, storedBytes: 300 }, bottleneck: 'read' });
    await c.store.updateSession(acc, sid, { status: 'succeeded' });
    await page.locator('[data-testid="session-status"][data-status="succeeded"]').waitFor(TIMEOUT);
    await task.locator('[data-testid="task-status"][data-status="succeeded"]').waitFor(TIMEOUT);
    assert.match(await task.getByTestId('task-bottleneck').innerText(), /read/i);
    const log = page.getByTestId('session-log');
    await log.filter({ hasText: 'started by hand' }).waitFor(TIMEOUT);
    assert.match(await log.innerText(), /backup failed: disk gone/);
    await c.screenshot('session');

    await page.getByTestId('nav-dashboard').click();
    await page.locator('[data-testid="last-sessions"] [data-status="succeeded"]').waitFor(TIMEOUT);
    assert.equal(await page.getByTestId('protected-count').innerText(), '2');
    assert.match(await page.getByTestId('rpo-violations').innerText(), /vol-new/);
    await c.screenshot('dashboard-after-run');
  });

  it('restores a restore point from the browser through the wizard; the file equals the source image', async () => {
    const { page } = c;
    await page.getByTestId('nav-restore-points').click();
    const resource = page.locator(`[data-testid="resource-item"][data-resource-id="vol-${A}"]`);
    await resource.waitFor(TIMEOUT);
    await resource.click();
    const point = page.locator(`[data-testid="timeline-point"][data-point-id="${c.pointA.id}"]`);
    await point.waitFor(TIMEOUT);
    assert.equal(await page.getByTestId('timeline-snapshot').count(), 2);
    assert.equal(await point.getByTestId('point-kind').textContent(), 'full');
    await c.screenshot('restore-points');

    await point.getByTestId('point-restore').click();
    const target = page.getByTestId('restore-target');
    await target.waitFor(TIMEOUT);
    const file = `vol-${A}-${c.pointA.id}.img`;
    assert.equal(await target.inputValue(), file);
    await c.screenshot('restore-wizard');
    await page.getByTestId('restore-start').click();
    await page.locator('[data-testid="restore-status"][data-status="succeeded"]').waitFor(TIMEOUT);
    await page.getByTestId('restore-verified').waitFor(TIMEOUT);
    await c.screenshot('restore-done');

    const restored = await readFile(join(c.restoreDir, file));
    assert.ok(restored.equals(c.image), 'the restored bytes equal the source image');
    assert.equal(await page.getByTestId('restore-bytes').innerText(), String(c.image.length));
    assert.equal(await page.getByTestId('restore-sha256').innerText(), createHash('sha256').update(c.image).digest('hex'));
  });

  it('raised no page errors and no CSP violations', () => {
    assert.deepEqual(c.errors, []);
  });
});
