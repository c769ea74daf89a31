// Branded ids of the control plane, their validation, and time-ordered session ids.
import { randomBytes } from 'node:crypto';
import { InvalidArgumentError } from '../errors.ts';

export type AccountId = string & { readonly __brand: 'AccountId' };
export type PolicyId = string & { readonly __brand: 'PolicyId' };
export type SessionId = string & { readonly __brand: 'SessionId' };
export type ResourceId = string & { readonly __brand: 'ResourceId' };
export type VolumeId = string & { readonly __brand: 'VolumeId' };
export type RegionName = string & { readonly __brand: 'RegionName' };

// '#' separates key parts (ACCOUNT#.., TASK#<session>#<resource>), so no id may hold one.
// ARNs fit: letters, digits and . _ : / @ + = -, at most 128 characters.
const ID = /^[A-Za-z0-9][A-Za-z0-9._:/@+=-]{0,127}$/;
const REGION = /^[a-z0-9][a-z0-9-]{0,31}$/;
const SESSION = /^[0-9a-z]{9}-[0-9a-f]{16}$/;

function check(kind: string, value: unknown, pattern: RegExp, expected: string): string {
  if (typeof value !== 'string' || !pattern.test(value)) {
    const shown = typeof value === 'string' ? JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value) : typeof value;
    throw new InvalidArgumentError(`invalid ${kind} ${shown}: expected ${expected}`);
  }
  return value;
}

const ID_TEXT = '1-128 characters of letters, digits and . _ : / @ + = -, starting with a letter or digit';

export const asAccountId = (value: string): AccountId => check('account id', value, ID, ID_TEXT) as AccountId;
export const asPolicyId = (value: string): PolicyId => check('policy id', value, ID, ID_TEXT) as PolicyId;
export const asResourceId = (value: string): ResourceId => check('resource id', value, ID, ID_TEXT) as ResourceId;
export const asVolumeId = (value: string): VolumeId => check('volume id', value, ID, ID_TEXT) as VolumeId;
export const asRegionName = (value: string): RegionName =>
  check('region', value, REGION, '1-32 lowercase letters, digits and -, e.g. "eu-west-1"') as RegionName;
export const asSessionId = (value: string): SessionId =>
  check('session id', value, SESSION, 'an id made by createSession, e.g. "0mjv1k2a0-1a2b3c4d5e6f7a8b"') as SessionId;

/**
 * A unique session id that sorts by creation time: 9 base-36 digits of milliseconds (good until
 * the year 5188), then 64 random bits. Ids made in the same millisecond sort in random order.
 */
export function newSessionId(nowMs: number): SessionId {
  if (!Number.isSafeInteger(nowMs) || nowMs < 0) throw new InvalidArgumentError(`invalid clock reading ${nowMs}: expected ms since the epoch`);
  return `${nowMs.toString(36).padStart(9, '0')}-${randomBytes(8).toString('hex')}` as SessionId;
}
