// Authentication and per-account authorization of the API. The local mode uses bearer tokens from a
// token file ({ token -> { principal, accounts[] } }); a Cognito JWT verifier plugs in as another Authenticator.
import { randomBytes, timingSafeEqual, createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { z } from 'zod';
import { InvalidArgumentError } from '../../core/errors.ts';
import { ForbiddenError, UnauthenticatedError } from './api-errors.ts';

/** Who is calling and which accounts they may access. */
export interface Principal {
  principal: string;
  accounts: string[];
}

/** Turns the Authorization header into a principal; throws UnauthenticatedError when it cannot. */
export interface Authenticator {
  /** How callers sign in (GET /capabilities); absent: token. */
  readonly kind?: 'token' | 'cognito';
  authenticate(authorization: string | undefined): Promise<Principal>;
}

/** Throws ForbiddenError unless the principal may access the account; the same answer whether or not it exists. */
export function requireAccount(principal: Principal, account: string): void {
  if (!principal.accounts.includes(account)) throw new ForbiddenError('access denied');
}

const TokenFileSchema = z.record(z.string().min(32), z.strictObject({ principal: z.string().min(1), accounts: z.array(z.string().min(1)) }));
export type TokenFile = z.infer<typeof TokenFileSchema>;

const digest = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

/** Bearer tokens from a token file, compared in constant time. */
export class TokenAuthenticator implements Authenticator {
  readonly kind = 'token' as const;
  private readonly entries: Array<{ digest: Buffer; principal: Principal }>;

  constructor(tokens: TokenFile) {
    this.entries = Object.entries(tokens).map(([token, p]) => ({ digest: digest(token), principal: { principal: p.principal, accounts: [...p.accounts] } }));
  }

  async authenticate(authorization: string | undefined): Promise<Principal> {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    if (!m) throw new UnauthenticatedError();
    const given = digest(m[1]);
    let found: Principal | undefined;
    for (const e of this.entries) if (timingSafeEqual(e.digest, given)) found = e.principal;
    if (!found) throw new UnauthenticatedError();
    return found;
  }
}

export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

/** Reads a token file; InvalidArgumentError when it is not one. */
export async function readTokenFile(path: string): Promise<TokenFile> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    throw new InvalidArgumentError(`cannot read token file ${JSON.stringify(path)}: ${(err as Error).message}`, { cause: err });
  }
  const result = TokenFileSchema.safeParse(parsed);
  if (!result.success) throw new InvalidArgumentError(`token file ${JSON.stringify(path)}: expected { "<token>": { "principal": "...", "accounts": ["..."] } }`);
  return result.data;
}

/**
 * Loads the token file, or creates it with one token for `principal` on `accounts` (mode 0600).
 * `created` holds the new token, to print once.
 */
export async function loadOrCreateTokenFile(path: string, principal: string, accounts: string[]): Promise<{ tokens: TokenFile; created?: string }> {
  try {
    return { tokens: await readTokenFile(path) };
  } catch (err) {
    if ((err as { cause?: NodeJS.ErrnoException }).cause?.code !== 'ENOENT') throw err;
  }
  const token = newToken();
  const tokens: TokenFile = { [token]: { principal, accounts } };
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, `${JSON.stringify(tokens, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  return { tokens, created: token };
}
