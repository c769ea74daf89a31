// The browser side of the hosted-UI sign-in: start (state + PKCE verifier kept in sessionStorage for
// this tab), complete (state checked, code exchanged at the token endpoint), and sign out.
import type { ConsoleConfig } from './config.ts';
import { authorizeUrl, codeChallenge, idTokenOf, logoutUrl, randomString, tokenRequest } from './pkce.ts';
import { checkIdToken } from './token.ts';

const PENDING_KEY = 'cloudkeep.signin';

interface Pending {
  state: string;
  verifier: string;
  /** Path, query and hash to return to after signing in. */
  returnTo: string;
}

/** The hosted UI sends the user back to the console's root (the app client's only callback URL). */
export function redirectUri(): string {
  return `${location.origin}/`;
}

/** Leaves for the hosted UI; it comes back to redirectUri() with ?code&state (or ?error). */
export async function startSignIn(config: ConsoleConfig): Promise<void> {
  const pending: Pending = { state: randomString(), verifier: randomString(48), returnTo: `${location.pathname}${location.search}${location.hash}` };
  sessionStorage.setItem(PENDING_KEY, JSON.stringify(pending));
  location.assign(authorizeUrl(config, { redirectUri: redirectUri(), state: pending.state, challenge: await codeChallenge(pending.verifier) }));
}

function takePending(): Pending | null {
  const text = sessionStorage.getItem(PENDING_KEY);
  sessionStorage.removeItem(PENDING_KEY);
  try {
    return text ? (JSON.parse(text) as Pending) : null;
  } catch {
    return null;
  }
}

/**
 * When the address is the hosted UI's answer (?code&state or ?error): checks it, exchanges the code,
 * and returns the ID token and where to go; null when the address is no such answer. The answer's
 * parameters are removed from the address either way.
 */
export async function completeSignIn(config: ConsoleConfig): Promise<{ idToken: string; returnTo: string } | null> {
  const url = new URL(location.href);
  const q = url.searchParams;
  if (!q.has('code') && !q.has('error')) return null;
  const pending = takePending();
  history.replaceState(null, '', pending?.returnTo && pending.returnTo.startsWith('/') ? pending.returnTo : '/');
  if (q.has('error')) throw new Error(`the sign-in service answered ${q.get('error')}${q.get('error_description') ? `: ${q.get('error_description')}` : ''}`);
  if (!pending) throw new Error('this sign-in answer was not started from this browser tab: sign in again');
  if (q.get('state') !== pending.state) throw new Error('the sign-in answer does not match the sign-in this tab started (state differs): sign in again');
  const req = tokenRequest(config, { code: q.get('code') ?? '', redirectUri: redirectUri(), verifier: pending.verifier });
  const res = await fetch(req.url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' }, body: req.body });
  const answer: unknown = await res.json().catch(() => ({}));
  const idToken = idTokenOf(res.status, answer);
  checkIdToken(idToken, config.userPoolClientId);
  return { idToken, returnTo: pending.returnTo };
}

/** Ends the hosted UI session too; it returns to the console's root, which then offers to sign in. */
export function signOut(config: ConsoleConfig): void {
  location.assign(logoutUrl(config, redirectUri()));
}
