// The Cognito authenticator against tokens signed with a local RSA key (preloaded JWKS: no network).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import type { Jwks } from 'aws-jwt-verify/jwk';
import { UnauthenticatedError } from '../../functions/api/api-errors.ts';
import { awsApiDeps } from '../../functions/api/aws-deps.ts';
import { accountsOf, CognitoAuthenticator, cognitoAuthenticatorFromEnv } from '../../functions/api/cognito-auth.ts';
import { Router } from '../../functions/api/router.ts';

const POOL = 'eu-west-1_TestPool1';
const CLIENT = 'console-client-id-1234567890';
const ISSUER = `https://cognito-idp.eu-west-1.amazonaws.com/${POOL}`;
const KID = 'test-key-1';

function keyPair(): { privateKey: KeyObject; jwks: Jwks } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = publicKey.export({ format: 'jwk' });
  return { privateKey, jwks: { keys: [{ ...jwk, kid: KID, alg: 'RS256', use: 'sig' } as Jwks['keys'][number]] } };
}

const { privateKey, jwks } = keyPair();
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);

function token(claims: Record<string, unknown> = {}, key: KeyObject = privateKey): string {
  const payload = {
    sub: '0f6c-user',
    'cognito:username': 'alice',
    iss: ISSUER,
    aud: CLIENT,
    token_use: 'id',
    auth_time: now() - 60,
    iat: now() - 60,
    exp: now() + 3600,
    'custom:accounts': '111122223333,444455556666',
    ...claims,
  };
  for (const [k, v] of Object.entries(payload)) if (v === undefined) delete (payload as Record<string, unknown>)[k];
  const signingInput = `${b64({ alg: 'RS256', kid: KID })}.${b64(payload)}`;
  return `${signingInput}.${sign('sha256', Buffer.from(signingInput), key).toString('base64url')}`;
}

const auth = new CognitoAuthenticator({ userPoolId: POOL, clientId: CLIENT, jwks });
const rejects = (authorization: string | undefined, message: RegExp) => assert.rejects(auth.authenticate(authorization), (err: unknown) => {
  assert.ok(err instanceof UnauthenticatedError, String(err));
  assert.match(err.message, message);
  return true;
});

describe('CognitoAuthenticator', () => {
  it('maps a valid ID token to its user and the accounts of custom:accounts', async () => {
    assert.deepEqual(await auth.authenticate(`Bearer ${token()}`), { principal: 'alice', accounts: ['111122223333', '444455556666'] });
  });

  it('rejects an expired token', async () => {
    await rejects(`Bearer ${token({ iat: now() - 7200, exp: now() - 3600 })}`, /invalid ID token: Token expired/);
  });

  it('rejects a token of another app client, an access token and another issuer', async () => {
    await rejects(`Bearer ${token({ aud: 'other-client' })}`, /invalid ID token: .*[Cc]lient/);
    await rejects(`Bearer ${token({ token_use: 'access' })}`, /invalid ID token: .*token use/i);
    await rejects(`Bearer ${token({ iss: 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Other' })}`, /invalid ID token: .*[Ii]ssuer/);
  });

  it('rejects a tampered payload and a token signed with another key', async () => {
    const [header, , signature] = token().split('.');
    const forged = b64({ sub: 'x', 'cognito:username': 'mallory', iss: ISSUER, aud: CLIENT, token_use: 'id', iat: now(), exp: now() + 3600, 'custom:accounts': '999999999999' });
    await rejects(`Bearer ${header}.${forged}.${signature}`, /invalid ID token: .*signature/i);
    await rejects(`Bearer ${token({}, keyPair().privateKey)}`, /invalid ID token: .*signature/i);
  });

  it('rejects a missing or malformed header and a token that is not a JWT', async () => {
    await rejects(undefined, /missing or invalid bearer token/);
    await rejects(`Basic ${token()}`, /missing or invalid bearer token/);
    await rejects('Bearer not-a-jwt', /invalid ID token/);
  });

  it('rejects a user without accounts, naming the attribute', async () => {
    await rejects(`Bearer ${token({ 'custom:accounts': undefined })}`, /user "alice" has no custom:accounts attribute: an administrator must set it/);
    await rejects(`Bearer ${token({ 'custom:accounts': ' , ' })}`, /no custom:accounts attribute/);
    await rejects(`Bearer ${token({ 'custom:accounts': '111122223333,bad#id' })}`, /custom:accounts of user "alice": invalid account id "bad#id"/);
  });

  it('the router answers 401 with the reason and www-authenticate', async () => {
    const router = new Router(auth).add('GET', '/accounts', { handler: async ({ principal }) => ({ accounts: principal.accounts }) });
    const ok = await router.handle({ method: 'GET', path: '/accounts', query: {}, headers: { Authorization: `Bearer ${token()}` } });
    assert.deepEqual(JSON.parse(ok.body).accounts, ['111122223333', '444455556666']);
    const expired = await router.handle({ method: 'GET', path: '/accounts', query: {}, headers: { authorization: `Bearer ${token({ exp: now() - 10 })}` } });
    assert.equal(expired.statusCode, 401);
    assert.equal(expired.headers['www-authenticate'], 'Bearer');
    assert.match(JSON.parse(expired.body).message, /Token expired/);
  });
});

describe('accountsOf and the environment', () => {
  it('accepts comma- and space-separated ids and drops repeats', () => {
    assert.deepEqual(accountsOf('111122223333, 444455556666 111122223333', 'u'), ['111122223333', '444455556666']);
  });

  it('needs USER_POOL_ID and USER_POOL_CLIENT_ID, naming the missing one', () => {
    assert.throws(() => cognitoAuthenticatorFromEnv({ USER_POOL_CLIENT_ID: CLIENT }), /USER_POOL_ID is not set/);
    assert.throws(() => cognitoAuthenticatorFromEnv({ USER_POOL_ID: POOL }), /USER_POOL_CLIENT_ID is not set/);
    assert.ok(cognitoAuthenticatorFromEnv({ USER_POOL_ID: POOL, USER_POOL_CLIENT_ID: CLIENT }) instanceof CognitoAuthenticator);
  });
});

describe('awsApiDeps (the Lambda composition)', () => {
  const base = { USER_POOL_ID: POOL, USER_POOL_CLIENT_ID: CLIENT, AWS_REGION: 'eu-west-1', CONTROL_TABLE_NAME: 'cloudkeep-control' };

  it('builds the Cognito authenticator and the DynamoDB store; no repository unless CLOUDKEEP_REPOSITORY is set', async () => {
    const deps = await awsApiDeps(base);
    assert.ok(deps.authenticator instanceof CognitoAuthenticator);
    assert.equal((deps.store as { description?: string }).description, 'dynamodb://cloudkeep-control');
    assert.equal(deps.repo, undefined);
  });

  it('offers run now, AWS restores and the inventory only when the state machines and the ExternalId are configured', async () => {
    const bare = await awsApiDeps(base);
    assert.deepEqual([bare.runner, bare.restores, bare.inventory, bare.snapshots], [undefined, undefined, undefined, undefined]);
    const machine = (name: string) => `arn:aws:states:eu-west-1:111122223333:stateMachine:${name}`;
    const deps = await awsApiDeps({
      ...base, CLOUDKEEP_BACKUP_STATE_MACHINE_ARN: machine('cloudkeep-backup'), CLOUDKEEP_RESTORE_STATE_MACHINE_ARN: machine('cloudkeep-restore'), CLOUDKEEP_EXTERNAL_ID: 'e'.repeat(16),
    });
    assert.ok(deps.runner && deps.inventory && deps.snapshots);
    assert.deepEqual(deps.restores?.kinds, ['snapshot', 'ebs-volume', 'instance']);
  });

  it('names a missing variable', async () => {
    await assert.rejects(awsApiDeps({ ...base, CONTROL_TABLE_NAME: undefined }), /CONTROL_TABLE_NAME is not set/);
    await assert.rejects(awsApiDeps({ ...base, USER_POOL_ID: '' }), /USER_POOL_ID is not set/);
  });
});
