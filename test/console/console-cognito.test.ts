// The console as deployed on AWS, in Chromium: sign-in through the (fake) Cognito hosted UI with PKCE,
// the ID token as the API's bearer token, expiry back to sign-in, AWS restores (EBS volume, instance)
// with inline checks, progress, result and cancel, and sign-out through the hosted UI.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { startAwsConsole } from './aws-console-fixture.ts';

const TIMEOUT = { timeout: 15_000 };

describe('console on AWS (Cognito sign-in, AWS restores) in Chromium', { timeout: 120_000 }, () => {
  let c: Awaited<ReturnType<typeof startAwsConsole>>;

  before(async () => {
    c = await startAwsConsole();
  });

  after(async () => {
    await c?.close();
  });

  const signIn = async () => {
    await c.page.getByTestId('signin-cognito').click();
    await c.page.getByTestId('dashboard-page').waitFor(TIMEOUT);
  };
  const token = () => c.page.evaluate(() => sessionStorage.getItem('cloudkeep.token'));

  it('signs in through the hosted UI with code + PKCE; the dashboard loads with the ID token as bearer', async () => {
    const { page, cognito } = c;
    await page.goto(`${c.url}/`);
    await page.getByTestId('signin-page').waitFor(TIMEOUT);
    assert.equal(await page.getByTestId('login-form').count(), 0, 'no token login on AWS');
    await c.screenshot('cognito-signin');
    await signIn();

    const [authorize] = cognito.state.authorizeRequests;
    assert.equal(authorize.get('code_challenge_method'), 'S256');
    assert.equal(authorize.get('redirect_uri'), `${c.url}/`);
    assert.match(authorize.get('state') ?? '', /^[A-Za-z0-9_-]{43}$/);
    const [exchange] = cognito.state.tokenRequests;
    assert.equal(createHash('sha256').update(exchange.get('code_verifier') ?? '').digest('base64url'), authorize.get('code_challenge'));
    assert.equal(exchange.get('client_secret'), null);
    const [idToken] = cognito.state.issued;
    assert.equal(await token(), idToken, 'the ID token is kept in sessionStorage');
    assert.ok(c.auth.seen.includes(`Bearer ${idToken}`), 'the API was called with the ID token');
    assert.equal(new URL(page.url()).search, '', 'code and state are removed from the address');
    assert.equal(await page.getByTestId('signed-in-user').innerText(), 'alice@example.com');
    await c.screenshot('cognito-dashboard');
  });

  it('refuses a sign-in answer this tab did not start, or whose state differs', async () => {
    const { page } = c;
    await page.evaluate(() => sessionStorage.clear());
    await page.goto(`${c.url}/?code=stolen&state=whatever`);
    await page.getByTestId('signin-error').filter({ hasText: 'was not started from this browser tab' }).waitFor(TIMEOUT);
    await page.evaluate(() => sessionStorage.setItem('cloudkeep.signin', JSON.stringify({ state: 'mine', verifier: 'v'.repeat(43), returnTo: '/' })));
    await page.goto(`${c.url}/?code=stolen&state=forged`);
    await page.getByTestId('signin-error').filter({ hasText: 'state differs' }).waitFor(TIMEOUT);
    assert.equal(c.cognito.state.tokenRequests.length, 1, 'no code was exchanged');
    assert.equal(await token(), null);
  });

  it('sends the user back to sign in with a clear message when the ID token expires', async () => {
    const { page } = c;
    c.cognito.state.tokenSeconds = 10;
    await signIn();
    await page.getByTestId('signin-expired').waitFor(TIMEOUT);
    assert.match(await page.getByTestId('signin-expired').innerText(), /Your sign-in expired: sign in again/);
    assert.equal(await token(), null);
    await c.screenshot('cognito-expired');

    // An expired token still in the tab at start is dropped before any request.
    const seen = c.auth.seen.length;
    await page.evaluate((t) => sessionStorage.setItem('cloudkeep.token', t), c.cognito.state.issued.at(-1)!);
    await page.reload();
    await page.getByTestId('signin-expired').waitFor(TIMEOUT);
    assert.equal(c.auth.seen.length, seen);
    c.cognito.state.tokenSeconds = 3600;
  });

  it('restores a volume point to a new EBS volume: inline checks, the contract body, status and elapsed time, the new ids', async () => {
    const { page } = c;
    await signIn();
    await page.goto(`${c.url}/restore?point=${c.volume.id}`);
    await page.getByTestId('restore-kind').waitFor(TIMEOUT);
    assert.equal(await page.getByLabel('Image file on this server').count(), 0, 'no image files on AWS');
    assert.equal(await page.getByLabel('New instance').isDisabled(), true, 'the volume point records no instance');
    await page.getByLabel('New EBS volume').check();
    assert.equal(await page.getByTestId('aws-region').inputValue(), 'eu-west-1', "the point's region");
    await page.getByTestId('aws-availabilityZone').fill('us-east-1a');
    await page.getByTestId('restore-start').click();
    await page.getByTestId('aws-error-availabilityZone').filter({ hasText: 'expected a zone of eu-west-1' }).waitFor(TIMEOUT);
    await page.getByTestId('aws-volumeType').selectOption('io2');
    await page.getByTestId('aws-error-iops').filter({ hasText: 'io2 volumes need IOPS' }).waitFor(TIMEOUT);
    await c.screenshot('aws-restore-invalid');
    assert.equal(c.restores.requests.length, 0, 'nothing is sent while the form has errors');

    await page.getByTestId('aws-availabilityZone').fill('eu-west-1b');
    await page.getByTestId('aws-iops').fill('5000');
    await page.getByTestId('restore-start').click();
    await page.locator('[data-testid="restore-status"][data-status="running"]').waitFor(TIMEOUT);
    assert.equal(await page.getByTestId('restore-progress-bar').getAttribute('data-indeterminate'), 'true');
    assert.match(await page.getByTestId('restore-elapsed').innerText(), /ebs-volume restore · running for/);
    assert.deepEqual(c.restores.requests[0], {
      kind: 'ebs-volume', pointId: c.volume.id, disks: ['root'], target: { region: 'eu-west-1' }, volume: { availabilityZone: 'eu-west-1b', volumeType: 'io2', iops: 5000 },
    });
    await c.screenshot('aws-restore-running');

    c.restores.finish({ region: 'eu-west-1', snapshots: [{ disk: 'root', snapshotId: 'snap-0new1' }], volumes: [{ disk: 'root', volumeId: 'vol-0new1', availabilityZone: 'eu-west-1b' }] });
    await page.locator('[data-testid="restore-status"][data-status="succeeded"]').waitFor(TIMEOUT);
    assert.equal(await page.getByTestId('aws-result-volume').innerText(), 'vol-0new1');
    assert.equal(await page.getByTestId('aws-result-snapshot').innerText(), 'snap-0new1');
    assert.equal(await page.getByTestId('aws-result-region').innerText(), 'eu-west-1');
    await c.screenshot('aws-restore-done');
  });

  it('relaunches an instance point with an override, and cancels it', async () => {
    const { page } = c;
    await page.goto(`${c.url}/restore?point=${c.instance.id}`);
    await page.getByTestId('restore-kind').waitFor(TIMEOUT);
    await page.getByLabel('New instance').check();
    await page.getByTestId('restore-all-disks').waitFor(TIMEOUT);
    await page.getByTestId('aws-instanceType').fill('t3.micro');
    await page.getByTestId('restore-start').click();
    await page.locator('[data-testid="restore-status"][data-status="running"]').waitFor(TIMEOUT);
    assert.deepEqual(c.restores.requests[1], { kind: 'instance', pointId: c.instance.id, target: { region: 'eu-west-1' }, instance: { instanceType: 't3.micro' } });
    await page.getByTestId('restore-cancel').click();
    await page.getByTestId('restore-cancelled').waitFor(TIMEOUT);
    assert.equal(c.restores.list(c.instance.resource.account!)[0].status, 'cancelled');
  });

  it('signs out through the hosted UI logout and comes back to sign in', async () => {
    const { page } = c;
    await page.getByTestId('logout').click();
    await page.getByTestId('signin-page').waitFor(TIMEOUT);
    assert.equal(c.cognito.state.logouts.at(-1)?.get('logout_uri'), `${c.url}/`);
    assert.equal(await token(), null);
  });

  it('raised no page errors and no CSP violations', () => {
    assert.deepEqual(c.errors, []);
  });
});
