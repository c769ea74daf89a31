// What buildApi is given: the control store and authenticator, and the optional components each endpoint group needs.
import type { Clock } from '../../core/clock.ts';
import type { ControlStore } from '../../core/control/control-store.ts';
import type { Repository } from '../../core/repo/repository.ts';
import { UnavailableError } from './api-errors.ts';
import type { Authenticator } from './auth.ts';
import type { Inventory, PolicyRunner, RestoreService, SessionLog, SnapshotCatalog, VerifyHistory } from './ports.ts';
import type { Logger } from './router.ts';
import type { PolicySchedules } from './policy-service.ts';

export interface ApiDeps {
  authenticator: Authenticator;
  store: ControlStore;
  /** The repository restore points are listed from; absent: no restore points. */
  repo?: Repository;
  /** Background restores (local mode); absent: restores are not offered. */
  restores?: RestoreService;
  /** The account's resources; absent: plans, resources, overview and timelines are not offered. */
  inventory?: Inventory;
  /** Starts runs now; absent: run now is not offered. */
  runner?: PolicyRunner;
  /** Cloudkeep's snapshots; absent: timelines show restore points only. */
  snapshots?: SnapshotCatalog;
  /** Session events; absent (or empty for a session): the log is derived from the session and its tasks. */
  sessionLog?: SessionLog;
  /** The last verify of the repository; absent: lastVerify is null. */
  verifyHistory?: VerifyHistory;
  /** Where saved, enabled and disabled policies' schedules go; absent: saving leaves schedules to `policy apply`. */
  schedules?: PolicySchedules;
  /** Time for plans and RPO ages (default: the system clock). */
  clock?: Clock;
  log?: Logger;
}

/** The dependency, or a 501 naming what this server lacks. */
export function need<T>(value: T | undefined, what: string, lacks: string): T {
  if (value === undefined) throw new UnavailableError(`${what} is not available on this server: ${lacks}`);
  return value;
}

export const needInventory = (deps: ApiDeps, what: string): Inventory => need(deps.inventory, what, 'it was started without an inventory of resources');
export const needRepo = (deps: ApiDeps, what: string): Repository => need(deps.repo, what, 'start it with a repository');
