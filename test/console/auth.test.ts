// The console's sign-in helpers under Node (no browser): PKCE, the hosted UI's URLs, the token answer,
// /config.json, and reading an ID token's expiry.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { loadConfig, parseConfig, type ConsoleConfig } from '../../console/src/auth/config.ts';
import { authorizeUrl, base64url, codeChallenge, idTokenOf, logoutUrl, randomString, tokenRequest } from '../../console/src/auth/pkce.ts';
import { checkIdToken, claimsOf, expiresAt, isExpired, msUntilExpiry, userName } from '../../console/src/auth/token.ts';

const CONFIG: ConsoleConfig = { region: 'eu-west-1', userPoolId: 'eu-west-1_Pool', userPoolClientId: 'client-1', signInUrl: 'https://ck.auth.eu-west-1.amazoncognito.com/', apiBase: '/api' };

/** An unsigned JWT with these claims (the console never checks signatures: the API does). */
const jwt = (claims: Record<string, unknown>) => `${Buffer.from('{"alg":"RS256"}').toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.c2ln`;

describe('PKCE', () => {
  it('encodes base64url without padding', () => {
    assert.equal(base64url(new Uint8Array([0xfb, 0xff, 0xfe])), '-__-');
    assert.equal(base64url(new Uint8Array([1])), 'AQ');
  });

  it('makes verifiers of 43+ unreserved characters, different each time', () => {
    const a = randomString();
    assert.match(a, /^[A-Za-z0-9_-]{43}$/);
    assert.notEqual(a, randomString());
    assert.match(randomString(48), /^[A-Za-z0-9_-]{64}$/);
  });

  it('derives the S256 challenge: the RFC 7636 appendix B example and a random verifier', async () => {
    assert.equal(await codeChallenge('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk'), 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM');
    const v = randomString();
    assert.equal(await codeChallenge(v), createHash('sha256').update(v).digest('base64url'));
  });

  it('refuses a verifier that is too short or has other characters, saying what is expected', async () => {
    await assert.rejects(codeChallenge('short'), /invalid PKCE code verifier of 5 characters: expected 43 to 128/);
    await assert.rejects(codeChallenge(`${'a'.repeat(42)}+`), /expected 43 to 128 characters of A-Z/);
  });
});

describe('hosted UI endpoints', () => {
  it('builds the authorize URL of the code flow with S256', () => {
    const url = new URL(authorizeUrl(CONFIG, { redirectUri: 'https://console.example.com/', state: 'st', challenge: 'ch' }));
    assert.equal(`${url.origin}${url.pathname}`, 'https://ck.auth.eu-west-1.amazoncognito.com/oauth2/authorize');
    assert.deepEqual(Object.fromEntries(url.searchParams), {
      response_type: 'code', client_id: 'client-1', redirect_uri: 'https://console.example.com/', scope: 'openid email', state: 'st', code_challenge: 'ch', code_challenge_method: 'S256',
    });
  });

  it('builds the token request with the verifier and no secret, and the logout URL', () => {
    const req = tokenRequest(CONFIG, { code: 'c0de', redirectUri: 'https://console.example.com/', verifier: 'v' });
    assert.equal(req.url, 'https://ck.auth.eu-west-1.amazoncognito.com/oauth2/token');
    assert.deepEqual(Object.fromEntries(new URLSearchParams(req.body)), { grant_type: 'authorization_code', client_id: 'client-1', code: 'c0de', redirect_uri: 'https://console.example.com/', code_verifier: 'v' });
    assert.equal(logoutUrl(CONFIG, 'https://console.example.com/'), 'https://ck.auth.eu-west-1.amazoncognito.com/logout?client_id=client-1&logout_uri=https%3A%2F%2Fconsole.example.com%2F');
  });

  it('takes the ID token from the answer, or names the OAuth error', () => {
    assert.equal(idTokenOf(200, { id_token: 'x.y.z', access_token: 'a' }), 'x.y.z');
    assert.throws(() => idTokenOf(400, { error: 'invalid_grant' }), /refused the code \(invalid_grant\)/);
    assert.throws(() => idTokenOf(400, { error: 'invalid_request', error_description: 'bad verifier' }), /\(invalid_request: bad verifier\)/);
    assert.throws(() => idTokenOf(502, null), /\(status 502\)/);
    assert.throws(() => idTokenOf(200, { access_token: 'a' }), /without an id_token: expected the openid scope/);
  });
});

describe('/config.json', () => {
  const answer = (status: number, body: string, type = 'application/json') => (async () => new Response(body, { status, headers: { 'content-type': type } })) as typeof fetch;

  it('is null in local mode (404, or a page from a dev server) and parsed on AWS', async () => {
    assert.equal(await loadConfig(answer(404, 'no file')), null);
    assert.equal(await loadConfig(answer(200, '<!doctype html>', 'text/html')), null);
    assert.deepEqual(await loadConfig(answer(200, JSON.stringify({ ...CONFIG, apiBase: '/api/', extra: 1 }))), CONFIG);
  });

  it('names a missing or bad field', async () => {
    assert.throws(() => parseConfig({ ...CONFIG, userPoolClientId: '' }), /userPoolClientId is "": expected a non-empty string/);
    assert.throws(() => parseConfig({ ...CONFIG, signInUrl: 'http://evil.example.com' }), /signInUrl "http:\/\/evil.example.com": expected an https:\/\/ URL/);
    assert.throws(() => parseConfig({ ...CONFIG, apiBase: 'api' }), /apiBase "api": expected a path starting with \//);
    assert.throws(() => parseConfig([]), /expected a JSON object/);
    assert.equal(parseConfig({ ...CONFIG, signInUrl: 'http://127.0.0.1:9000' }).signInUrl, 'http://127.0.0.1:9000');
    await assert.rejects(loadConfig(answer(500, 'oops')), /answered 500: expected 200 \(AWS\) or 404 \(local\)/);
  });
});

describe('ID token expiry', () => {
  const exp = 1_700_000_000;
  const token = jwt({ token_use: 'id', aud: 'client-1', exp, email: 'alice@example.com', 'cognito:username': 'alice', name: 'Zoë' });

  it('reads the claims (UTF-8) and the expiry in ms', () => {
    assert.equal(claimsOf(token).name, 'Zoë');
    assert.equal(expiresAt(token), exp * 1000);
    assert.equal(userName(token), 'alice@example.com');
    assert.equal(userName('garbage'), '');
  });

  it('is expired from 5 s before exp on, or when it cannot be read', () => {
    assert.equal(msUntilExpiry(token, exp * 1000 - 60_000), 55_000);
    assert.equal(isExpired(token, exp * 1000 - 5_001), false);
    assert.equal(isExpired(token, exp * 1000 - 5_000), true);
    assert.equal(isExpired(token, exp * 1000 + 1), true);
    assert.equal(isExpired(jwt({ token_use: 'id' }), 0), true, 'no exp claim');
    assert.equal(isExpired('not-a-jwt', 0), true);
  });

  it('checks the token is an ID token of this app client with an expiry', () => {
    checkIdToken(token, 'client-1');
    assert.throws(() => checkIdToken(token, 'client-2'), /for app client "client-1", expected "client-2"/);
    assert.throws(() => checkIdToken(jwt({ token_use: 'access', aud: 'client-1', exp }), 'client-1'), /expected an ID token, got token_use "access"/);
    assert.throws(() => checkIdToken(jwt({ token_use: 'id', aud: 'client-1' }), 'client-1'), /no numeric exp claim/);
    assert.throws(() => claimsOf('a.b'), /not a JWT: expected 3 dot-separated parts, got 2/);
    assert.throws(() => claimsOf('a.!!!.c'), /not a JWT: its payload is not base64url JSON/);
  });
});
