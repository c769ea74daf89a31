// The control-plane store port: policies, backup sessions, per-resource tasks and per-volume state.
//
// Guarantees every adapter gives (test/support/control-store-contract.ts checks each one):
// - Account isolation by key design: every call takes an AccountId and every key the adapter
//   reads or writes is derived from it (DynamoDB: partition key `ACCOUNT#<id>`). No call, cursor
//   or id can reach another account's items; a cursor made for another account, another policy
//   filter, or altered in any way fails with InvalidArgumentError.
// - Policies: optimistic concurrency on `version`. putPolicy(account, input, expectedVersion)
//   creates when expectedVersion is 0 (and the policy is absent), else replaces only when the
//   stored version equals expectedVersion; the stored version becomes expectedVersion + 1.
//   Anything else fails with ConflictError (of N concurrent puts with the same expectation,
//   exactly one wins). deletePolicy of a missing policy succeeds.
// - Sessions: createSession gives a unique, time-ordered id (see newSessionId), status
//   'running' and startedAt from the store's Clock. updateSession validates the transition:
//   running -> running (message only) | succeeded | failed | partial | cancelled; a final session
//   is immutable and nothing goes back to running (InvalidTransitionError). Of concurrent
//   finishing updates exactly one wins. listSessions is newest first (by id, which orders by
//   startedAt), `limit` items per page, `next` present exactly when more items follow.
// - Tasks: putTask creates a task once per (session, resource) (ConflictError when present), so
//   two workers cannot both claim a resource; updateTask validates pending -> running -> final,
//   final immutable. The store does not check that the session exists (the caller creates it).
// - Volume state: setVolumeState is a compare-and-set on the previous baseSnapshotId (null: no
//   state yet); a stale expectation fails with ConflictError, so two workers cannot both advance
//   a chain from the same base.
// - Reads after a resolved write see the write, except listSessions with a policyId filter on
//   DynamoDB, which reads an index that can lag a just-written session briefly. Missing items read as undefined; updates of a
//   missing session or task fail with ControlNotFoundError.
// - Every I/O method takes an AbortSignal; an aborted call fails with AbortedError. Transient
//   backend failures are ControlStoreError with retryable = true.
import type { AccountId, PolicyId, RegionName, ResourceId, SessionId, VolumeId } from './control-ids.ts';

export type { AccountId, PolicyId, RegionName, ResourceId, SessionId, VolumeId } from './control-ids.ts';

export interface ControlIoOptions {
  signal?: AbortSignal;
}

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** What a caller writes: the policy model (schedule, selection, retention) is opaque JSON here. */
export interface PolicyInput {
  id: PolicyId;
  name: string;
  /** The policy definition, validated by the policy model above the store; at most 64 KiB as JSON. */
  body: JsonObject;
}

export interface Policy extends PolicyInput {
  account: AccountId;
  /** 1 after the first put, +1 on every put. */
  version: number;
  updatedAt: number;
}

export type SessionStatus = 'running' | 'succeeded' | 'failed' | 'partial' | 'cancelled';
export const FINAL_SESSION_STATUSES: readonly SessionStatus[] = ['succeeded', 'failed', 'partial', 'cancelled'];

/** One backup run of a policy. */
export interface Session {
  account: AccountId;
  id: SessionId;
  policyId: PolicyId;
  status: SessionStatus;
  startedAt: number;
  /** Set when the session reaches a final status. */
  endedAt: number | null;
  message: string | null;
  updatedAt: number;
  /** +1 on every write; adapters use it for compare-and-set. */
  revision: number;
}

export interface SessionPatch {
  status?: SessionStatus;
  message?: string | null;
}

/** An opaque page cursor; only the adapter that made it (same account and filter) accepts it. */
export type SessionCursor = string & { readonly __brand: 'SessionCursor' };

export interface ListSessionsOptions extends ControlIoOptions {
  policyId?: PolicyId;
  /** Page size, 1..1000. */
  limit: number;
  /** The `next` cursor of the previous page. */
  before?: SessionCursor;
}

export interface SessionPage {
  sessions: Session[];
  /** Present exactly when older sessions follow. */
  next?: SessionCursor;
}

export type TaskStatus = 'pending' | 'running' | 'succeeded' | 'failed' | 'skipped' | 'cancelled';
export const FINAL_TASK_STATUSES: readonly TaskStatus[] = ['succeeded', 'failed', 'skipped', 'cancelled'];

export interface TaskProgress {
  bytesDone: number;
  /** null until the size of the resource is known. */
  bytesTotal: number | null;
}

/** Sizes a finished (or running) task reports; all optional, all bytes. */
export interface TaskSizes {
  /** Size of the resource (the volume or stream). */
  sourceBytes?: number;
  /** Bytes actually read (changed blocks only on incrementals). */
  readBytes?: number;
  /** Bytes written to the repository after dedup, compression and encryption. */
  storedBytes?: number;
}

/** The backup of one resource within a session. */
export interface Task {
  account: AccountId;
  sessionId: SessionId;
  resourceId: ResourceId;
  status: TaskStatus;
  progress: TaskProgress;
  sizes: TaskSizes;
  /** The slowest pipeline stage, e.g. "read" or "compress" (see core/engine/stage-timer.ts). */
  bottleneck: string | null;
  error: string | null;
  createdAt: number;
  updatedAt: number;
  endedAt: number | null;
  revision: number;
}

export interface TaskInput {
  resourceId: ResourceId;
  status?: 'pending' | 'running';
  progress?: TaskProgress;
}

export interface TaskPatch {
  status?: TaskStatus;
  progress?: Partial<TaskProgress>;
  /** Merged into the stored sizes. */
  sizes?: TaskSizes;
  bottleneck?: string | null;
  error?: string | null;
}

/** Where a volume's incremental chain stands. */
export interface VolumeState {
  account: AccountId;
  region: RegionName;
  volumeId: VolumeId;
  /** The snapshot the next incremental diffs against. */
  baseSnapshotId: string;
  lastRestorePointId: string;
  updatedAt: number;
}

export interface VolumeStateInput {
  baseSnapshotId: string;
  lastRestorePointId: string;
}

export interface PolicyStore {
  putPolicy(account: AccountId, policy: PolicyInput, expectedVersion: number, options?: ControlIoOptions): Promise<Policy>;
  getPolicy(account: AccountId, id: PolicyId, options?: ControlIoOptions): Promise<Policy | undefined>;
  /** Every policy of the account, sorted by id. */
  listPolicies(account: AccountId, options?: ControlIoOptions): Promise<Policy[]>;
  /** Idempotent; with expectedVersion, a different stored version is a ConflictError. */
  deletePolicy(account: AccountId, id: PolicyId, options?: ControlIoOptions & { expectedVersion?: number }): Promise<void>;
}

export interface SessionStore {
  createSession(account: AccountId, policyId: PolicyId, options?: ControlIoOptions): Promise<Session>;
  updateSession(account: AccountId, id: SessionId, patch: SessionPatch, options?: ControlIoOptions): Promise<Session>;
  getSession(account: AccountId, id: SessionId, options?: ControlIoOptions): Promise<Session | undefined>;
  listSessions(account: AccountId, options: ListSessionsOptions): Promise<SessionPage>;
}

export interface TaskStore {
  putTask(account: AccountId, sessionId: SessionId, task: TaskInput, options?: ControlIoOptions): Promise<Task>;
  updateTask(account: AccountId, sessionId: SessionId, resourceId: ResourceId, patch: TaskPatch, options?: ControlIoOptions): Promise<Task>;
  /** Every task of the session, sorted by resource id. */
  listTasks(account: AccountId, sessionId: SessionId, options?: ControlIoOptions): Promise<Task[]>;
}

export interface VolumeStateStore {
  getVolumeState(account: AccountId, region: RegionName, volumeId: VolumeId, options?: ControlIoOptions): Promise<VolumeState | undefined>;
  /** Compare-and-set on the previous baseSnapshotId; null expects no state yet. */
  setVolumeState(
    account: AccountId,
    region: RegionName,
    volumeId: VolumeId,
    next: VolumeStateInput,
    expectedBaseSnapshotId: string | null,
    options?: ControlIoOptions,
  ): Promise<VolumeState>;
}

/** Which worker slots to give back: one holder's, or every holder's of a session. */
export type SlotRelease = { holder: string } | { sessionId: string };

/** Leases on the account's worker slots (core/control/worker-slots.ts), shared by every policy and run of the account. */
export interface WorkerSlotStore {
  /** Takes or renews `holder`'s slot for `ttlMs` when fewer than `limit` other live leases exist; false when all slots are taken. */
  acquireWorkerSlot(account: AccountId, holder: string, limit: number, ttlMs: number, options?: ControlIoOptions): Promise<boolean>;
  /** Idempotent: gives back the matching leases. */
  releaseWorkerSlots(account: AccountId, release: SlotRelease, options?: ControlIoOptions): Promise<void>;
}

export interface ControlStore extends PolicyStore, SessionStore, TaskStore, VolumeStateStore, WorkerSlotStore {
  /** A short description for messages, e.g. "dynamodb://cloudkeep-control". Never holds secrets. */
  readonly description: string;
}
