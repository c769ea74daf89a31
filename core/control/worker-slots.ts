// Worker slots: how many workers of one account may read EBS snapshots at once, across every policy
// and run. Each worker reads at (account quota / slots) requests/s, so all of them together stay under
// the account's GetSnapshotBlock quota without talking to each other. A slot is a lease: it is given
// back when the worker ends, and a lease whose run died without giving it back expires.
import { InvalidArgumentError } from '../errors.ts';
import type { SlotRelease } from './control-store.ts';

/** The slots item of one account: holder (session/resource) → lease expiry in ms since the epoch. */
export interface WorkerSlots {
  holders: Record<string, number>;
  revision: number;
}

export const WORKER_SLOTS_KEY = 'WORKERSLOTS';

/** The result of an acquire: whether `holder` now has a slot, and the leases after it. */
export interface SlotDecision {
  granted: boolean;
  /** The item to store (expired leases dropped, the holder's lease added or renewed); unchanged when not granted. */
  next: WorkerSlots;
  /** Live holders other than `holder`. */
  others: string[];
}

function checkHolder(holder: string): string {
  if (typeof holder !== 'string' || holder.length === 0 || holder.length > 512) {
    throw new InvalidArgumentError(`invalid worker slot holder ${JSON.stringify(holder)}: expected 1 to 512 characters`);
  }
  return holder;
}

/** Takes (or renews) a slot for `holder` when fewer than `limit` other live leases exist. */
export function acquireSlot(current: WorkerSlots | undefined, holder: string, limit: number, ttlMs: number, now: number): SlotDecision {
  checkHolder(holder);
  if (!Number.isInteger(limit) || limit < 1) throw new InvalidArgumentError(`invalid worker slot limit ${limit}: expected a whole number of at least 1`);
  if (!Number.isFinite(ttlMs) || ttlMs <= 0) throw new InvalidArgumentError(`invalid worker slot lease ${ttlMs} ms: expected a positive duration`);
  const live = Object.entries(current?.holders ?? {}).filter(([, expiry]) => expiry > now);
  const others = live.filter(([h]) => h !== holder).map(([h]) => h);
  const revision = (current?.revision ?? 0) + 1;
  if (others.length >= limit) return { granted: false, next: current ?? { holders: {}, revision: 0 }, others };
  return { granted: true, next: { holders: { ...Object.fromEntries(live), [holder]: now + ttlMs }, revision }, others };
}

/** Gives back the slots of every holder `release` matches (and drops expired leases); undefined when nothing is held. */
export function releaseSlots(current: WorkerSlots | undefined, release: (holder: string) => boolean, now: number): WorkerSlots | undefined {
  const kept = Object.entries(current?.holders ?? {}).filter(([h, expiry]) => expiry > now && !release(h));
  return kept.length === 0 ? undefined : { holders: Object.fromEntries(kept), revision: (current?.revision ?? 0) + 1 };
}

/** The holder name of one resource's worker in one session. */
export const slotHolder = (sessionId: string, resourceId: string): string => `${sessionId}/${resourceId}`;

/** The holders a release gives back: one holder, or every resource's of a session. */
export function releaseMatcher(release: SlotRelease): (holder: string) => boolean {
  if ('holder' in release) {
    const holder = checkHolder(release.holder);
    return (h) => h === holder;
  }
  const prefix = `${checkHolder(release.sessionId)}/`;
  return (h) => h.startsWith(prefix);
}
