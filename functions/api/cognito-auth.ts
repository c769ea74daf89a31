// The AWS deployment's Authenticator: Cognito ID tokens verified with aws-jwt-verify. A user's accounts
// are the custom:accounts attribute (comma-separated account ids) that only administrators can write.
import { CognitoJwtVerifier } from 'aws-jwt-verify';
import { FetchError, JwksValidationError, JwtBaseError, NotSupportedError } from 'aws-jwt-verify/error';
import type { Jwks } from 'aws-jwt-verify/jwk';
import { asAccountId } from '../../core/control/control-ids.ts';
import { UnauthenticatedError } from './api-errors.ts';
import type { Authenticator, Principal } from './auth.ts';

/** The user attribute listing the accounts a user may access (the CDK stack defines it as `accounts`). */
export const ACCOUNTS_CLAIM = 'custom:accounts';

/** Environment variables the API Lambda reads (the CDK stack sets them). */
export const COGNITO_ENV = { userPoolId: 'USER_POOL_ID', clientId: 'USER_POOL_CLIENT_ID' } as const;

export interface CognitoAuthenticatorOptions {
  userPoolId: string;
  /** The console's app client: ID tokens must carry it as `aud`. */
  clientId: string;
  /** Keys to trust without downloading the pool's JWKS (tests; unknown key ids are still fetched). */
  jwks?: Jwks;
}

// Failures of Cognito or of the runtime, not of the caller's token: they stay 500s. (A bad pool id or
// client id fails in the constructor; during verify, ParameterValidationError means an unknown issuer.)
const SERVER_SIDE = [FetchError, JwksValidationError, NotSupportedError];

/**
 * Verifies ID tokens (not access tokens: only ID tokens carry custom attributes without a
 * pre-token-generation trigger) for one user pool and app client: signature, expiry, issuer,
 * audience and token_use.
 */
export class CognitoAuthenticator implements Authenticator {
  readonly kind = 'cognito' as const;
  private readonly verifier;

  constructor(options: CognitoAuthenticatorOptions) {
    this.verifier = CognitoJwtVerifier.create({ userPoolId: options.userPoolId, clientId: options.clientId, tokenUse: 'id' });
    if (options.jwks) this.verifier.cacheJwks(options.jwks);
  }

  async authenticate(authorization: string | undefined): Promise<Principal> {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    if (!m) throw new UnauthenticatedError();
    let claims: Record<string, unknown>;
    try {
      claims = await this.verifier.verify(m[1]);
    } catch (err) {
      if (err instanceof JwtBaseError && !SERVER_SIDE.some((type) => err instanceof type)) {
        throw new UnauthenticatedError(`invalid ID token: ${err.message}`, { cause: err });
      }
      throw err;
    }
    const principal = String(claims['cognito:username'] ?? claims.sub);
    return { principal, accounts: accountsOf(claims[ACCOUNTS_CLAIM], principal) };
  }
}

/** The account ids of the claim: comma- or space-separated, at least one. */
export function accountsOf(claim: unknown, principal: string): string[] {
  const missing = `user ${JSON.stringify(principal)} has no ${ACCOUNTS_CLAIM} attribute: an administrator must set it to the comma-separated account ids the user may access`;
  if (typeof claim !== 'string') throw new UnauthenticatedError(missing);
  const ids = claim.split(/[\s,]+/).filter((id) => id !== '');
  if (ids.length === 0) throw new UnauthenticatedError(missing);
  try {
    return [...new Set(ids.map(asAccountId))];
  } catch (err) {
    throw new UnauthenticatedError(`${ACCOUNTS_CLAIM} of user ${JSON.stringify(principal)}: ${(err as Error).message}`, { cause: err });
  }
}

/** The authenticator the Lambda uses, from USER_POOL_ID and USER_POOL_CLIENT_ID. */
export function cognitoAuthenticatorFromEnv(env: NodeJS.ProcessEnv): CognitoAuthenticator {
  const read = (name: string): string => {
    const value = env[name];
    if (!value) throw new Error(`environment variable ${name} is not set; the CDK stack sets it`);
    return value;
  };
  return new CognitoAuthenticator({ userPoolId: read(COGNITO_ENV.userPoolId), clientId: read(COGNITO_ENV.clientId) });
}
