// PKCE (RFC 7636) and the Cognito hosted UI's endpoints as pure functions: Web Crypto, btoa and URL only
// (no DOM), so Node's test runner runs them as they are.
import type { ConsoleConfig } from './config.ts';

/** base64url without padding (RFC 4648 section 5), as PKCE and JWTs use it. */
export function base64url(bytes: Uint8Array): string {
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** A random base64url string of `bytes` random bytes (32 bytes: 43 characters, a valid code verifier). */
export function randomString(bytes = 32): string {
  return base64url(crypto.getRandomValues(new Uint8Array(bytes)));
}

const VERIFIER = /^[A-Za-z0-9._~-]{43,128}$/;

/** The S256 code challenge of a verifier: base64url(SHA-256(verifier)). */
export async function codeChallenge(verifier: string): Promise<string> {
  if (!VERIFIER.test(verifier)) {
    throw new Error(`invalid PKCE code verifier of ${verifier.length} characters: expected 43 to 128 characters of A-Z a-z 0-9 . _ ~ -`);
  }
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier));
  return base64url(new Uint8Array(digest));
}

function endpoint(config: ConsoleConfig, path: string): URL {
  return new URL(`${config.signInUrl.replace(/\/+$/, '')}${path}`);
}

/** The hosted UI's authorize URL for the code flow with PKCE (S256). */
export function authorizeUrl(config: ConsoleConfig, p: { redirectUri: string; state: string; challenge: string }): string {
  const url = endpoint(config, '/oauth2/authorize');
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: config.userPoolClientId,
    redirect_uri: p.redirectUri,
    scope: 'openid email',
    state: p.state,
    code_challenge: p.challenge,
    code_challenge_method: 'S256',
  }).toString();
  return url.toString();
}

/** The token endpoint request exchanging a code (a public client: no secret, the verifier instead). */
export function tokenRequest(config: ConsoleConfig, p: { code: string; redirectUri: string; verifier: string }): { url: string; body: string } {
  const body = new URLSearchParams({ grant_type: 'authorization_code', client_id: config.userPoolClientId, code: p.code, redirect_uri: p.redirectUri, code_verifier: p.verifier });
  return { url: endpoint(config, '/oauth2/token').toString(), body: body.toString() };
}

/** The hosted UI's logout URL: ends the hosted UI session, then returns to `logoutUri`. */
export function logoutUrl(config: ConsoleConfig, logoutUri: string): string {
  const url = endpoint(config, '/logout');
  url.search = new URLSearchParams({ client_id: config.userPoolClientId, logout_uri: logoutUri }).toString();
  return url.toString();
}

/** The ID token of a token endpoint answer; an Error naming the OAuth error otherwise. */
export function idTokenOf(status: number, answer: unknown): string {
  const a = (answer ?? {}) as Record<string, unknown>;
  if (status !== 200 || typeof a.error === 'string') {
    const detail = typeof a.error_description === 'string' ? `: ${a.error_description}` : '';
    throw new Error(`the sign-in service refused the code (${typeof a.error === 'string' ? a.error : `status ${status}`}${detail})`);
  }
  if (typeof a.id_token !== 'string' || a.id_token === '') throw new Error('the sign-in service answered without an id_token: expected the openid scope');
  return a.id_token;
}
