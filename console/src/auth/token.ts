// The ID token as the console reads it: claims (unverified: the API verifies the signature), expiry, who.

/** The JWT's payload; an Error when it is not a JWT with a JSON payload. */
export function claimsOf(token: string): Record<string, unknown> {
  const parts = token.split('.');
  if (parts.length !== 3) throw new Error(`not a JWT: expected 3 dot-separated parts, got ${parts.length}`);
  try {
    const b64 = parts[1].replace(/-/g, '+').replace(/_/g, '/');
    const binary = atob(b64.padEnd(Math.ceil(b64.length / 4) * 4, '='));
    const claims: unknown = JSON.parse(new TextDecoder().decode(Uint8Array.from(binary, (c) => c.charCodeAt(0))));
    if (typeof claims !== 'object' || claims === null || Array.isArray(claims)) throw new Error('the payload is not an object');
    return claims as Record<string, unknown>;
  } catch (err) {
    throw new Error(`not a JWT: its payload is not base64url JSON (${(err as Error).message})`, { cause: err });
  }
}

/** When the token expires (ms since the epoch), from its exp claim (seconds). */
export function expiresAt(token: string): number {
  const exp = claimsOf(token).exp;
  if (typeof exp !== 'number' || !Number.isFinite(exp)) throw new Error('the ID token has no numeric exp claim');
  return exp * 1000;
}

/** Tokens are treated as expired this long before exp, so no request leaves with a token about to lapse. */
export const EXPIRY_SKEW_MS = 5_000;

/** ms until the console must treat the token as expired (<= 0: already); an unreadable token counts as expired. */
export function msUntilExpiry(token: string, now: number, skewMs = EXPIRY_SKEW_MS): number {
  try {
    return expiresAt(token) - skewMs - now;
  } catch {
    return 0;
  }
}

export function isExpired(token: string, now: number, skewMs = EXPIRY_SKEW_MS): boolean {
  return msUntilExpiry(token, now, skewMs) <= 0;
}

/** Checks that the token is an ID token of this app client with an expiry; an Error saying what is wrong. */
export function checkIdToken(token: string, clientId: string): void {
  const c = claimsOf(token);
  if (c.token_use !== 'id') throw new Error(`expected an ID token, got token_use ${JSON.stringify(c.token_use)}`);
  if (c.aud !== clientId) throw new Error(`the ID token is for app client ${JSON.stringify(c.aud)}, expected ${JSON.stringify(clientId)}`);
  expiresAt(token);
}

/** A name to show for the signed-in user: email, else the Cognito user name, else the subject. */
export function userName(token: string): string {
  try {
    const c = claimsOf(token);
    const name = c.email ?? c['cognito:username'] ?? c.sub;
    return typeof name === 'string' ? name : '';
  } catch {
    return '';
  }
}
