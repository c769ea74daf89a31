// A fake of the Cognito hosted UI for browser tests: /oauth2/authorize answers at once with a code (as for
// a user already signed in there), /oauth2/token checks client, redirect URI and the PKCE verifier (S256)
// and returns an ID token signed with a local RSA key, /logout returns to the logout URI. CORS as Cognito.
import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Jwks } from 'aws-jwt-verify/jwk';

export interface FakeCognitoOptions {
  region: string;
  userPoolId: string;
  clientId: string;
  /** The signed-in user's claims besides the standard ones (e.g. custom:accounts, email). */
  claims: Record<string, unknown>;
}

interface Grant {
  clientId: string;
  redirectUri: string;
  challenge: string;
  scope: string;
}

const KID = 'fake-cognito-key';

export async function startFakeCognito(options: FakeCognitoOptions) {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwks: Jwks = { keys: [{ ...publicKey.export({ format: 'jwk' }), kid: KID, alg: 'RS256', use: 'sig' } as Jwks['keys'][number]] };
  const issuer = `https://cognito-idp.${options.region}.amazonaws.com/${options.userPoolId}`;
  const grants = new Map<string, Grant>();
  const state = {
    /** Redirect URIs the app client allows (callback and logout URLs). */
    allowedRedirects: new Set<string>(),
    /** Lifetime of the next ID tokens, seconds. */
    tokenSeconds: 3600,
    authorizeRequests: [] as URLSearchParams[],
    tokenRequests: [] as URLSearchParams[],
    logouts: [] as URLSearchParams[],
    /** The ID tokens issued, in order. */
    issued: [] as string[],
  };

  const idToken = (): string => {
    const now = Math.floor(Date.now() / 1000);
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const payload = { sub: 'user-sub-1', iss: issuer, aud: options.clientId, token_use: 'id', auth_time: now, iat: now, exp: now + state.tokenSeconds, ...options.claims };
    const input = `${b64({ alg: 'RS256', kid: KID, typ: 'JWT' })}.${b64(payload)}`;
    return `${input}.${sign('sha256', Buffer.from(input), privateKey).toString('base64url')}`;
  };

  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json', 'access-control-allow-origin': '*', 'cache-control': 'no-store' }).end(JSON.stringify(body));
  };
  const redirect = (res: ServerResponse, to: string) => res.writeHead(302, { location: to }).end();

  const authorize = (q: URLSearchParams, res: ServerResponse) => {
    state.authorizeRequests.push(q);
    const redirectUri = q.get('redirect_uri') ?? '';
    if (q.get('client_id') !== options.clientId || !state.allowedRedirects.has(redirectUri)) {
      return json(res, 400, { error: 'redirect_mismatch', error_description: `client ${q.get('client_id')} may not return to ${redirectUri}` });
    }
    if (q.get('response_type') !== 'code' || q.get('code_challenge_method') !== 'S256' || !q.get('code_challenge')) {
      return redirect(res, `${redirectUri}?error=invalid_request&state=${encodeURIComponent(q.get('state') ?? '')}`);
    }
    const code = randomBytes(16).toString('hex');
    grants.set(code, { clientId: options.clientId, redirectUri, challenge: q.get('code_challenge')!, scope: q.get('scope') ?? '' });
    redirect(res, `${redirectUri}?code=${code}&state=${encodeURIComponent(q.get('state') ?? '')}`);
  };

  const token = async (req: IncomingMessage, res: ServerResponse) => {
    const parts: Buffer[] = [];
    for await (const chunk of req) parts.push(chunk as Buffer);
    const body = new URLSearchParams(Buffer.concat(parts).toString('utf8'));
    state.tokenRequests.push(body);
    if (!(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) return json(res, 400, { error: 'invalid_request' });
    if (body.get('grant_type') !== 'authorization_code') return json(res, 400, { error: 'unsupported_grant_type' });
    const code = body.get('code') ?? '';
    const grant = grants.get(code);
    grants.delete(code);
    const challenge = createHash('sha256').update(body.get('code_verifier') ?? '').digest('base64url');
    if (!grant || grant.clientId !== body.get('client_id') || grant.redirectUri !== body.get('redirect_uri') || grant.challenge !== challenge) {
      return json(res, 400, { error: 'invalid_grant' });
    }
    const id = idToken();
    state.issued.push(id);
    json(res, 200, { id_token: id, access_token: `access-${randomBytes(8).toString('hex')}`, refresh_token: 'refresh', expires_in: state.tokenSeconds, token_type: 'Bearer' });
  };

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method === 'OPTIONS') {
      res.writeHead(204, { 'access-control-allow-origin': '*', 'access-control-allow-methods': 'POST', 'access-control-allow-headers': 'content-type' }).end();
    } else if (req.method === 'GET' && url.pathname === '/oauth2/authorize') {
      authorize(url.searchParams, res);
    } else if (req.method === 'POST' && url.pathname === '/oauth2/token') {
      token(req, res).catch(() => json(res, 500, { error: 'server_error' }));
    } else if (req.method === 'GET' && url.pathname === '/logout') {
      state.logouts.push(url.searchParams);
      const to = url.searchParams.get('logout_uri') ?? '';
      if (url.searchParams.get('client_id') !== options.clientId || !state.allowedRedirects.has(to)) json(res, 400, { error: 'invalid logout_uri' });
      else redirect(res, to);
    } else {
      json(res, 404, { error: `no ${req.method} ${url.pathname}` });
    }
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const close = () => new Promise<void>((ok) => server.close(() => ok()));
  return { url, jwks, issuer, state, close };
}

export type FakeCognito = Awaited<ReturnType<typeof startFakeCognito>>;
