// Object-lock support for maintenance: which objects are still locked, and extending the locks retained points need.
import { throwIfAborted } from '../errors.ts';
import { CONFIG_KEY, KEYS_PREFIX, packKey, pointKey } from '../repo/layout.ts';
import type { Repository } from '../repo/repository.ts';
import { listAll, ObjectNotFoundError, requireObjectLocker, type IoOptions, type ObjectLocker, type ObjectStore } from '../store/object-store.ts';
import { mapLimit } from '../util/concurrency.ts';

export const DAY_MS = 24 * 60 * 60 * 1000;

export interface LockOptions {
  /** The repository's immutability period: locks are extended to now + days. */
  days: number;
  /** Extend a needed object's lock when less than this remains. Default half the period. */
  extendWhenRemainingMs?: number;
}

export interface LockReport {
  /** Needed objects whose retain-until date was read. */
  checkedLocks: number;
  /** Needed objects whose lock was extended (or would be, in a dry run). */
  extendedLocks: number;
  /** Needed objects found with no lock or a lapsed one (re-locked): a sign an earlier run was missed. */
  lapsedLocks: number;
}

/** What a locked repository's prune needs: the locker and the time the run started. */
export class LockGuard {
  readonly store: ObjectStore & ObjectLocker;
  readonly now: number;
  readonly options: LockOptions | undefined;
  constructor(store: ObjectStore, now: number, options: LockOptions | undefined) {
    this.store = requireObjectLocker(store, 'the repository is immutable (object lock)');
    this.now = now;
    this.options = options;
  }

  /** A guard when the store locks objects or the caller asks for locks; null for an ordinary repository. */
  static for(repo: Repository, lock: LockOptions | undefined): LockGuard | null {
    if (lock === undefined && !repo.store.capabilities.objectLock) return null;
    return new LockGuard(repo.store, repo.clock.now(), lock);
  }

  /** True while the store would refuse to delete the object; a missing object is not locked. */
  async isLocked(key: string, options: IoOptions = {}): Promise<boolean> {
    try {
      const { retainUntil } = await this.store.retention(key, options);
      return retainUntil !== null && retainUntil > this.now;
    } catch (err) {
      if (err instanceof ObjectNotFoundError) return false;
      throw err;
    }
  }

  /** The subset of keys still locked. */
  async lockedOf(keys: Iterable<string>, options: IoOptions = {}): Promise<Set<string>> {
    const list = [...keys];
    const flags = await mapLimit(list, 8, (k) => this.isLocked(k, options));
    return new Set(list.filter((_, i) => flags[i]));
  }

  /** Extends every needed object whose lock ends within the threshold to now + days. */
  async maintain(keys: Iterable<string>, options: IoOptions & { dryRun?: boolean } = {}): Promise<LockReport> {
    const report: LockReport = { checkedLocks: 0, extendedLocks: 0, lapsedLocks: 0 };
    const lock = this.options;
    if (lock === undefined) return report;
    const period = lock.days * DAY_MS;
    const threshold = this.now + (lock.extendWhenRemainingMs ?? period / 2);
    const until = this.now + period;
    await mapLimit([...new Set(keys)], 8, async (key) => {
      throwIfAborted(options.signal);
      let retainUntil: number | null;
      try {
        ({ retainUntil } = await this.store.retention(key, options));
      } catch (err) {
        if (err instanceof ObjectNotFoundError) return;
        throw err;
      }
      report.checkedLocks++;
      if (retainUntil !== null && retainUntil >= threshold) return;
      if (retainUntil === null || retainUntil <= this.now) report.lapsedLocks++;
      report.extendedLocks++;
      if (!options.dryRun) await this.store.extendRetention(key, until, options);
    });
    return report;
  }
}

/** Keys of every object retained restore points need: config, keys, their manifests, packs and the index objects naming those packs. */
export async function neededKeys(repo: Repository, pointIds: Iterable<string>, packs: Set<string>, indexObjects: Map<string, Set<string>>, superseded: Set<string>, options: IoOptions = {}): Promise<string[]> {
  const out = [CONFIG_KEY, ...(await listAll(repo.store, KEYS_PREFIX, options)).map((i) => i.key)];
  for (const id of pointIds) out.push(pointKey(id));
  for (const p of packs) out.push(packKey(p));
  for (const [key, named] of indexObjects) {
    if (superseded.has(key)) continue;
    for (const p of named) {
      if (!packs.has(p)) continue;
      out.push(key);
      break;
    }
  }
  return out;
}
