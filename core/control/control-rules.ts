// The control-plane rules every adapter applies: input checks, version and CAS checks, status transitions.
import { InvalidArgumentError } from '../errors.ts';
import { ConflictError, InvalidTransitionError } from './control-errors.ts';
import { asPolicyId, asRegionName, asResourceId, asVolumeId, newSessionId, type AccountId, type PolicyId, type RegionName, type SessionId, type VolumeId } from './control-ids.ts';
import {
  FINAL_SESSION_STATUSES,
  FINAL_TASK_STATUSES,
  type JsonObject,
  type Policy,
  type PolicyInput,
  type Session,
  type SessionPatch,
  type SessionStatus,
  type Task,
  type TaskInput,
  type TaskPatch,
  type TaskStatus,
  type VolumeState,
  type VolumeStateInput,
} from './control-store.ts';

const MAX_BODY_BYTES = 64 * 1024;
const MAX_TEXT = 4096;
const SESSION_STATUSES: readonly string[] = ['running', ...FINAL_SESSION_STATUSES];
const TASK_STATUSES: readonly string[] = ['pending', 'running', ...FINAL_TASK_STATUSES];

export const policyLabel = (id: string): string => `policy ${id}`;
export const sessionLabel = (id: string): string => `session ${id}`;
export const taskLabel = (sessionId: string, resourceId: string): string => `task ${sessionId}/${resourceId}`;
export const volumeLabel = (region: string, volumeId: string): string => `volume state ${region}/${volumeId}`;

function text(what: string, value: unknown, max = MAX_TEXT): string {
  if (typeof value !== 'string' || value.length > max) throw new InvalidArgumentError(`invalid ${what}: expected a string of at most ${max} characters`);
  return value;
}

function optionalText(what: string, value: unknown): string | null {
  return value === null ? null : text(what, value);
}

function bytes(what: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new InvalidArgumentError(`invalid ${what} ${String(value)}: expected a non-negative integer`);
  }
  return value;
}

export function checkExpectedVersion(version: unknown): number {
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 0) {
    throw new InvalidArgumentError(`invalid expected version ${String(version)}: expected 0 (create) or the version read`);
  }
  return version;
}

export function checkLimit(limit: unknown): number {
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > 1000) {
    throw new InvalidArgumentError(`invalid limit ${String(limit)}: expected an integer from 1 to 1000`);
  }
  return limit;
}

function checkBody(body: unknown): JsonObject {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new InvalidArgumentError('invalid policy body: expected a JSON object');
  const json = JSON.stringify(body);
  if (Buffer.byteLength(json) > MAX_BODY_BYTES) throw new InvalidArgumentError(`invalid policy body: more than ${MAX_BODY_BYTES} bytes as JSON`);
  return JSON.parse(json) as JsonObject;
}

/** The policy a put stores, or ConflictError when `current` does not match expectedVersion. */
export function nextPolicy(account: AccountId, current: Policy | undefined, input: PolicyInput, expectedVersion: number, now: number): Policy {
  const policy = policyRecord(account, input, checkExpectedVersion(expectedVersion) + 1, now);
  const stored = current?.version ?? 0;
  if (stored !== expectedVersion) {
    throw new ConflictError(policyLabel(policy.id), current ? `stored version is ${stored}, expected ${expectedVersion}` : `absent, expected version ${expectedVersion}`);
  }
  return policy;
}

/** The checked policy to store at `version`; for adapters whose backend does the version check. */
export function policyRecord(account: AccountId, input: PolicyInput, version: number, now: number): Policy {
  const id = asPolicyId(input.id);
  return { account, id, name: text('policy name', input.name, 200), body: checkBody(input.body), version, updatedAt: now };
}

export function newSession(account: AccountId, policyId: PolicyId, now: number): Session {
  asPolicyId(policyId);
  return { account, id: newSessionId(now), policyId, status: 'running', startedAt: now, endedAt: null, message: null, updatedAt: now, revision: 1 };
}

export function applySessionPatch(current: Session, patch: SessionPatch, now: number): Session {
  const to = patch.status ?? current.status;
  if (!SESSION_STATUSES.includes(to)) throw new InvalidArgumentError(`invalid session status ${JSON.stringify(to)}: expected one of ${SESSION_STATUSES.join(', ')}`);
  if (current.status !== 'running') throw new InvalidTransitionError(sessionLabel(current.id), current.status, to);
  const message = patch.message === undefined ? current.message : optionalText('session message', patch.message);
  const ended = (FINAL_SESSION_STATUSES as readonly string[]).includes(to);
  return { ...current, status: to as SessionStatus, message, endedAt: ended ? now : null, updatedAt: now, revision: current.revision + 1 };
}

export function newTask(account: AccountId, sessionId: SessionId, input: TaskInput, now: number): Task {
  const resourceId = asResourceId(input.resourceId);
  const status = input.status ?? 'pending';
  if (status !== 'pending' && status !== 'running') throw new InvalidArgumentError(`invalid new task status ${JSON.stringify(status)}: expected pending or running`);
  const progress = checkProgress({ bytesDone: 0, bytesTotal: null }, input.progress ?? {});
  return { account, sessionId, resourceId, status, progress, sizes: {}, bottleneck: null, error: null, createdAt: now, updatedAt: now, endedAt: null, revision: 1 };
}

function checkProgress(current: Task['progress'], patch: Partial<Task['progress']>): Task['progress'] {
  const bytesDone = patch.bytesDone === undefined ? current.bytesDone : bytes('bytesDone', patch.bytesDone);
  let bytesTotal = current.bytesTotal;
  if (patch.bytesTotal === null) bytesTotal = null;
  else if (patch.bytesTotal !== undefined) bytesTotal = bytes('bytesTotal', patch.bytesTotal);
  if (bytesTotal !== null && bytesDone > bytesTotal) throw new InvalidArgumentError(`invalid progress: bytesDone ${bytesDone} exceeds bytesTotal ${bytesTotal}`);
  return { bytesDone, bytesTotal };
}

function allowedTask(from: TaskStatus, to: TaskStatus): boolean {
  if ((FINAL_TASK_STATUSES as readonly string[]).includes(from)) return false;
  if (from === 'running' && to === 'pending') return false;
  return true;
}

export function applyTaskPatch(current: Task, patch: TaskPatch, now: number): Task {
  const to = patch.status ?? current.status;
  if (!TASK_STATUSES.includes(to)) throw new InvalidArgumentError(`invalid task status ${JSON.stringify(to)}: expected one of ${TASK_STATUSES.join(', ')}`);
  if (!allowedTask(current.status, to)) throw new InvalidTransitionError(taskLabel(current.sessionId, current.resourceId), current.status, to);
  const sizes = { ...current.sizes };
  for (const key of ['sourceBytes', 'readBytes', 'storedBytes'] as const) {
    if (patch.sizes?.[key] !== undefined) sizes[key] = bytes(key, patch.sizes[key]);
  }
  const ended = (FINAL_TASK_STATUSES as readonly string[]).includes(to);
  return {
    ...current,
    status: to,
    progress: checkProgress(current.progress, patch.progress ?? {}),
    sizes,
    bottleneck: patch.bottleneck === undefined ? current.bottleneck : optionalText('bottleneck', patch.bottleneck),
    error: patch.error === undefined ? current.error : optionalText('task error', patch.error),
    updatedAt: now,
    endedAt: ended ? now : null,
    revision: current.revision + 1,
  };
}

/** The state a set stores, or ConflictError when `current` does not hold expectedBaseSnapshotId. */
export function nextVolumeState(
  account: AccountId,
  region: RegionName,
  volumeId: VolumeId,
  current: VolumeState | undefined,
  next: VolumeStateInput,
  expectedBaseSnapshotId: string | null,
  now: number,
): VolumeState {
  const state = volumeRecord(account, region, volumeId, next, expectedBaseSnapshotId, now);
  const stored = current?.baseSnapshotId ?? null;
  if (stored !== expectedBaseSnapshotId) {
    throw new ConflictError(volumeLabel(region, volumeId), `base snapshot is ${JSON.stringify(stored)}, expected ${JSON.stringify(expectedBaseSnapshotId)}`);
  }
  return state;
}

/** The checked state to store; for adapters whose backend does the compare-and-set. */
export function volumeRecord(
  account: AccountId,
  region: RegionName,
  volumeId: VolumeId,
  next: VolumeStateInput,
  expectedBaseSnapshotId: string | null,
  now: number,
): VolumeState {
  const baseSnapshotId = text('baseSnapshotId', next.baseSnapshotId, 256);
  const lastRestorePointId = text('lastRestorePointId', next.lastRestorePointId, 256);
  if (baseSnapshotId === '') throw new InvalidArgumentError('invalid baseSnapshotId: expected a snapshot id, got ""');
  if (expectedBaseSnapshotId !== null) text('expected baseSnapshotId', expectedBaseSnapshotId, 256);
  return { account, region: asRegionName(region), volumeId: asVolumeId(volumeId), baseSnapshotId, lastRestorePointId, updatedAt: now };
}
