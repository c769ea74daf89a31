// The control plane's key layout (one partition per account) and its session page cursors.
import { InvalidArgumentError } from '../errors.ts';
import { asSessionId, type AccountId, type PolicyId, type RegionName, type ResourceId, type SessionId, type VolumeId } from './control-ids.ts';
import type { Session, SessionCursor, SessionPage } from './control-store.ts';

// Ids never hold '#' (control-ids.ts), so every key below parses back unambiguously and a
// prefix such as TASK#<session># matches only that session's tasks.
export const partitionKey = (account: AccountId): string => `ACCOUNT#${account}`;
export const POLICY_PREFIX = 'POLICY#';
export const SESSION_PREFIX = 'SESSION#';
export const policyKey = (id: PolicyId): string => `${POLICY_PREFIX}${id}`;
export const sessionKey = (id: SessionId): string => `${SESSION_PREFIX}${id}`;
export const taskPrefix = (sessionId: SessionId): string => `TASK#${sessionId}#`;
export const taskKey = (sessionId: SessionId, resourceId: ResourceId): string => `${taskPrefix(sessionId)}${resourceId}`;
export const volumeKey = (region: RegionName, volumeId: VolumeId): string => `VOLUME#${region}#${volumeId}`;
/** Sessions of one policy: the partition of the by-policy index (still inside the account). */
export const policySessionsKey = (account: AccountId, policyId: PolicyId): string => `${partitionKey(account)}#POLICY#${policyId}`;

/** The key of the last session of a page, in DynamoDB's LastEvaluatedKey shape. */
export type SessionCursorKey = Record<string, string>;

export function sessionCursorKey(account: AccountId, sessionId: SessionId, policyId?: PolicyId): SessionCursorKey {
  const key: SessionCursorKey = { pk: partitionKey(account), sk: sessionKey(sessionId) };
  if (policyId !== undefined) Object.assign(key, { gsi1pk: policySessionsKey(account, policyId), gsi1sk: sessionKey(sessionId) });
  return key;
}

/** The page of at most `limit` sessions from `found` (fetched one beyond the limit), with a cursor when more follow. */
export function sessionPage(found: Session[], limit: number, account: AccountId, policyId?: PolicyId): SessionPage {
  if (found.length <= limit) return { sessions: found };
  const sessions = found.slice(0, limit);
  return { sessions, next: encodeSessionCursor(sessionCursorKey(account, sessions[limit - 1].id, policyId)) };
}

/** base64url JSON of the page's last key. */
export function encodeSessionCursor(key: SessionCursorKey): SessionCursor {
  return Buffer.from(JSON.stringify(key)).toString('base64url') as SessionCursor;
}

/**
 * The session id a cursor points after, checked against the account and filter of the call: a
 * tampered cursor, or one made for another account or another policy filter, is an InvalidArgumentError.
 */
export function decodeSessionCursor(cursor: unknown, account: AccountId, policyId?: PolicyId): SessionId {
  const bad = (why: string): InvalidArgumentError => new InvalidArgumentError(`invalid session cursor: ${why}; pass the \`next\` of the previous page`);
  if (typeof cursor !== 'string' || cursor.length === 0 || cursor.length > 1024 || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw bad('not a cursor');
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw bad('not a cursor');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw bad('not a cursor');
  const sk = (parsed as Record<string, unknown>).sk;
  if (typeof sk !== 'string' || !sk.startsWith(SESSION_PREFIX)) throw bad('not a session cursor');
  let id: SessionId;
  try {
    id = asSessionId(sk.slice(SESSION_PREFIX.length));
  } catch {
    throw bad('not a session cursor');
  }
  const expected = sessionCursorKey(account, id, policyId);
  const keys = Object.keys(parsed).sort();
  const same = keys.length === Object.keys(expected).length && keys.every((k) => (parsed as Record<string, unknown>)[k] === expected[k]);
  if (!same) throw bad('made for another account or another filter');
  return id;
}
