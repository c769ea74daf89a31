// A ControlStore over any atomic per-item table (memory, files): the rules of control-rules.ts on a tiny port.
import type { Clock } from '../clock.ts';
import { throwIfAborted } from '../errors.ts';
import { ControlNotFoundError } from './control-errors.ts';
import { asPolicyId, asRegionName, asResourceId, asSessionId, asVolumeId } from './control-ids.ts';
import {
  decodeSessionCursor,
  sessionPage,
  partitionKey,
  policyKey,
  POLICY_PREFIX,
  sessionKey,
  SESSION_PREFIX,
  taskKey,
  taskPrefix,
  volumeKey,
} from './control-keys.ts';
import {
  applySessionPatch,
  applyTaskPatch,
  checkExpectedVersion,
  checkLimit,
  newSession,
  newTask,
  nextPolicy,
  nextVolumeState,
  policyLabel,
  sessionLabel,
  taskLabel,
} from './control-rules.ts';
import { ConflictError } from './control-errors.ts';
import type {
  AccountId,
  ControlIoOptions,
  ControlStore,
  ListSessionsOptions,
  Policy,
  PolicyId,
  PolicyInput,
  RegionName,
  ResourceId,
  Session,
  SessionId,
  SessionPage,
  SessionPatch,
  SlotRelease,
  Task,
  TaskInput,
  TaskPatch,
  VolumeId,
  VolumeState,
  VolumeStateInput,
} from './control-store.ts';
import { asAccountId } from './control-ids.ts';
import { acquireSlot, releaseMatcher, releaseSlots, WORKER_SLOTS_KEY, type WorkerSlots } from './worker-slots.ts';

/**
 * Items keyed by (partition, key), values plain JSON. `update` must be atomic per item against
 * every other call on the same table: it reads the item, runs `change`, and stores its result
 * (undefined deletes); when `change` throws, the item is left as it was and the error propagates.
 */
export interface ControlItemTable {
  readonly description: string;
  get(partition: string, key: string, options?: ControlIoOptions): Promise<unknown>;
  update<T>(partition: string, key: string, change: (current: unknown) => T | undefined, options?: ControlIoOptions): Promise<T | undefined>;
  /** Every key of the partition that starts with prefix, in any order. */
  keys(partition: string, prefix: string, options?: ControlIoOptions): Promise<string[]>;
}

export class KvControlStore implements ControlStore {
  readonly description: string;
  private readonly table: ControlItemTable;
  private readonly clock: Clock;

  constructor(table: ControlItemTable, clock: Clock) {
    this.table = table;
    this.clock = clock;
    this.description = table.description;
  }

  async putPolicy(account: AccountId, policy: PolicyInput, expectedVersion: number, options: ControlIoOptions = {}): Promise<Policy> {
    const pk = this.partition(account, options);
    const id = asPolicyId(policy.id);
    checkExpectedVersion(expectedVersion);
    const stored = await this.table.update<Policy>(pk, policyKey(id), (current) => nextPolicy(account, current as Policy | undefined, policy, expectedVersion, this.clock.now()), options);
    return stored as Policy;
  }

  async getPolicy(account: AccountId, id: PolicyId, options: ControlIoOptions = {}): Promise<Policy | undefined> {
    return (await this.table.get(this.partition(account, options), policyKey(asPolicyId(id)), options)) as Policy | undefined;
  }

  async listPolicies(account: AccountId, options: ControlIoOptions = {}): Promise<Policy[]> {
    const pk = this.partition(account, options);
    const keys = (await this.table.keys(pk, POLICY_PREFIX, options)).sort();
    const policies = await Promise.all(keys.map((key) => this.table.get(pk, key, options)));
    return policies.filter((p) => p !== undefined) as Policy[];
  }

  async deletePolicy(account: AccountId, id: PolicyId, options: ControlIoOptions & { expectedVersion?: number } = {}): Promise<void> {
    const pk = this.partition(account, options);
    const expected = options.expectedVersion === undefined ? undefined : checkExpectedVersion(options.expectedVersion);
    await this.table.update(pk, policyKey(asPolicyId(id)), (current) => {
      const version = (current as Policy | undefined)?.version ?? 0;
      if (expected !== undefined && version !== expected) throw new ConflictError(policyLabel(id), `stored version is ${version}, expected ${expected}`);
      return undefined;
    }, options);
  }

  async createSession(account: AccountId, policyId: PolicyId, options: ControlIoOptions = {}): Promise<Session> {
    const pk = this.partition(account, options);
    const session = newSession(account, policyId, this.clock.now());
    await this.table.update(pk, sessionKey(session.id), (current) => {
      if (current !== undefined) throw new ConflictError(sessionLabel(session.id), 'id already taken');
      return session;
    }, options);
    return session;
  }

  async updateSession(account: AccountId, id: SessionId, patch: SessionPatch, options: ControlIoOptions = {}): Promise<Session> {
    const pk = this.partition(account, options);
    const stored = await this.table.update(pk, sessionKey(asSessionId(id)), (current) => {
      if (current === undefined) throw new ControlNotFoundError(sessionLabel(id));
      return applySessionPatch(current as Session, patch, this.clock.now());
    }, options);
    return stored as Session;
  }

  async getSession(account: AccountId, id: SessionId, options: ControlIoOptions = {}): Promise<Session | undefined> {
    return (await this.table.get(this.partition(account, options), sessionKey(asSessionId(id)), options)) as Session | undefined;
  }

  async listSessions(account: AccountId, options: ListSessionsOptions): Promise<SessionPage> {
    const pk = this.partition(account, options);
    const limit = checkLimit(options.limit);
    const policyId = options.policyId === undefined ? undefined : asPolicyId(options.policyId);
    const after = options.before === undefined ? undefined : sessionKey(decodeSessionCursor(options.before, account, policyId));
    const keys = (await this.table.keys(pk, SESSION_PREFIX, options)).filter((key) => after === undefined || key < after).sort().reverse();
    const found: Session[] = [];
    for (const key of keys) {
      const session = (await this.table.get(pk, key, options)) as Session | undefined;
      if (session === undefined || (policyId !== undefined && session.policyId !== policyId)) continue;
      found.push(session);
      if (found.length > limit) break;
    }
    return sessionPage(found, limit, account, policyId);
  }

  async putTask(account: AccountId, sessionId: SessionId, task: TaskInput, options: ControlIoOptions = {}): Promise<Task> {
    const pk = this.partition(account, options);
    const fresh = newTask(account, asSessionId(sessionId), task, this.clock.now());
    await this.table.update(pk, taskKey(fresh.sessionId, fresh.resourceId), (current) => {
      if (current !== undefined) throw new ConflictError(taskLabel(sessionId, fresh.resourceId), 'task already exists');
      return fresh;
    }, options);
    return fresh;
  }

  async updateTask(account: AccountId, sessionId: SessionId, resourceId: ResourceId, patch: TaskPatch, options: ControlIoOptions = {}): Promise<Task> {
    const pk = this.partition(account, options);
    const key = taskKey(asSessionId(sessionId), asResourceId(resourceId));
    const stored = await this.table.update(pk, key, (current) => {
      if (current === undefined) throw new ControlNotFoundError(taskLabel(sessionId, resourceId));
      return applyTaskPatch(current as Task, patch, this.clock.now());
    }, options);
    return stored as Task;
  }

  async listTasks(account: AccountId, sessionId: SessionId, options: ControlIoOptions = {}): Promise<Task[]> {
    const pk = this.partition(account, options);
    const keys = (await this.table.keys(pk, taskPrefix(asSessionId(sessionId)), options)).sort();
    const tasks = await Promise.all(keys.map((key) => this.table.get(pk, key, options)));
    return tasks.filter((t) => t !== undefined) as Task[];
  }

  async getVolumeState(account: AccountId, region: RegionName, volumeId: VolumeId, options: ControlIoOptions = {}): Promise<VolumeState | undefined> {
    const pk = this.partition(account, options);
    return (await this.table.get(pk, volumeKey(asRegionName(region), asVolumeId(volumeId)), options)) as VolumeState | undefined;
  }

  async setVolumeState(
    account: AccountId,
    region: RegionName,
    volumeId: VolumeId,
    next: VolumeStateInput,
    expectedBaseSnapshotId: string | null,
    options: ControlIoOptions = {},
  ): Promise<VolumeState> {
    const pk = this.partition(account, options);
    const key = volumeKey(asRegionName(region), asVolumeId(volumeId));
    const stored = await this.table.update(pk, key, (current) =>
      nextVolumeState(account, region, volumeId, current as VolumeState | undefined, next, expectedBaseSnapshotId, this.clock.now()), options);
    return stored as VolumeState;
  }

  async acquireWorkerSlot(account: AccountId, holder: string, limit: number, ttlMs: number, options: ControlIoOptions = {}): Promise<boolean> {
    const pk = this.partition(account, options);
    let granted = false;
    await this.table.update(pk, WORKER_SLOTS_KEY, (current) => {
      const decision = acquireSlot(current as WorkerSlots | undefined, holder, limit, ttlMs, this.clock.now());
      granted = decision.granted;
      return decision.next;
    }, options);
    return granted;
  }

  async releaseWorkerSlots(account: AccountId, release: SlotRelease, options: ControlIoOptions = {}): Promise<void> {
    const pk = this.partition(account, options);
    await this.table.update(pk, WORKER_SLOTS_KEY, (current) => releaseSlots(current as WorkerSlots | undefined, releaseMatcher(release), this.clock.now()), options);
  }

  private partition(account: AccountId, options: ControlIoOptions): string {
    throwIfAborted(options.signal);
    return partitionKey(asAccountId(account));
  }
}
