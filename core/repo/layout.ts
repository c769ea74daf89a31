// The repository's key layout: the core owns every object name; adapters see opaque keys.
import { randomBytes } from 'node:crypto';

export const CONFIG_KEY = 'config';
export const KEYS_PREFIX = 'keys/';
export const PACKS_PREFIX = 'packs/';
export const INDEX_PREFIX = 'index/';
export const POINTS_PREFIX = 'points/';
export const MARKERS_PREFIX = 'markers/';

export function randomName(): string {
  return randomBytes(16).toString('hex');
}

export function keyObjectKey(id: string): string {
  return `${KEYS_PREFIX}${id}`;
}

/** Packs are spread over 256 folders so no listing or directory grows too large. */
export function packKey(packId: string): string {
  return `${PACKS_PREFIX}${packId.slice(0, 2)}/${packId}`;
}

export function packIdFromKey(key: string): string {
  return key.slice(key.lastIndexOf('/') + 1);
}

export function indexKey(id: string): string {
  return `${INDEX_PREFIX}${id}`;
}

/** Restore point names sort by time; the random tail makes every name unique without a lock. */
export function pointKey(id: string): string {
  return `${POINTS_PREFIX}${id}`;
}

export function newPointId(timeMs: number): string {
  const stamp = new Date(timeMs).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `${stamp}-${randomBytes(8).toString('hex')}`;
}

export function markerKey(id: string): string {
  return `${MARKERS_PREFIX}${id}`;
}

export function isPackId(id: string): boolean {
  return /^[0-9a-f]{32}$/.test(id);
}

export const SESSIONS_PREFIX = 'sessions/';

/** A running backup's lease: refreshed while it runs, ignored once older than the safety margin. */
export function sessionKey(id: string): string {
  return `${SESSIONS_PREFIX}${id}`;
}
