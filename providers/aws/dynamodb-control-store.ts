// The ControlStore on one DynamoDB table: conditional writes enforce versions, transitions and CAS.
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, type GetCommandOutput, type QueryCommandInput, type QueryCommandOutput } from '@aws-sdk/lib-dynamodb';
import { systemClock, type Clock } from '../../core/clock.ts';
import { throwIfAborted } from '../../core/errors.ts';
import { ConflictError, ControlNotFoundError } from '../../core/control/control-errors.ts';
import { asAccountId, asPolicyId, asRegionName, asResourceId, asSessionId, asVolumeId } from '../../core/control/control-ids.ts';
import {
  decodeSessionCursor, partitionKey, policyKey, POLICY_PREFIX, policySessionsKey,
  sessionCursorKey, sessionKey, sessionPage, SESSION_PREFIX, taskKey, taskPrefix, volumeKey,
} from '../../core/control/control-keys.ts';
import {
  applySessionPatch, applyTaskPatch, checkExpectedVersion, checkLimit, newSession, newTask, policyLabel, policyRecord,
  sessionLabel, taskLabel, volumeLabel, volumeRecord,
} from '../../core/control/control-rules.ts';
import type {
  AccountId, ControlIoOptions, ControlStore, ListSessionsOptions, Policy, PolicyId, PolicyInput, RegionName, ResourceId,
  Session, SessionId, SessionPage, SessionPatch, SlotRelease, Task, TaskInput, TaskPatch, VolumeId, VolumeState, VolumeStateInput,
} from '../../core/control/control-store.ts';
import { acquireSlot, releaseMatcher, releaseSlots, WORKER_SLOTS_KEY, type WorkerSlots } from '../../core/control/worker-slots.ts';
import { translateDynamoError } from './dynamodb-control-errors.ts';
import { SESSIONS_BY_POLICY_INDEX } from './dynamodb-control-table.ts';

export interface DynamoDbControlStoreOptions {
  client: DynamoDBClient;
  tableName: string;
  clock?: Clock;
  /** Read-modify-write attempts (session and task updates) before a ConflictError. Default 10. */
  maxAttempts?: number;
}

type Item = Record<string, unknown>;
const KEY_ATTRIBUTES = ['pk', 'sk', 'gsi1pk', 'gsi1sk'];

/** The record without key attributes; the policy body is stored as JSON text (DynamoDB maps lose nothing, but text keeps numbers exact). */
function recordOf<T>(item: Item | undefined): T | undefined {
  if (item === undefined) return undefined;
  const record: Item = { ...item };
  for (const key of KEY_ATTRIBUTES) delete record[key];
  if (typeof record.body === 'string') record.body = JSON.parse(record.body);
  return record as T;
}

export class DynamoDbControlStore implements ControlStore {
  readonly description: string;
  private readonly doc: DynamoDBDocumentClient;
  private readonly table: string;
  private readonly clock: Clock;
  private readonly maxAttempts: number;

  constructor(options: DynamoDbControlStoreOptions) {
    this.doc = DynamoDBDocumentClient.from(options.client, { marshallOptions: { removeUndefinedValues: true } });
    this.table = options.tableName;
    this.clock = options.clock ?? systemClock;
    this.maxAttempts = options.maxAttempts ?? 10;
    this.description = `dynamodb://${options.tableName}`;
  }

  async putPolicy(account: AccountId, policy: PolicyInput, expectedVersion: number, options: ControlIoOptions = {}): Promise<Policy> {
    const pk = this.partition(account, options);
    const record = policyRecord(account, policy, checkExpectedVersion(expectedVersion) + 1, this.clock.now());
    const condition = expectedVersion === 0 ? { ConditionExpression: 'attribute_not_exists(pk)' } : versionIs(expectedVersion);
    await this.send(new PutCommand({ TableName: this.table, Item: { ...record, body: JSON.stringify(record.body), pk, sk: policyKey(record.id) }, ...condition }), policyLabel(record.id), options)
      .catch(rethrowConflict(policyLabel(record.id), `stored version is not ${expectedVersion}`));
    return record;
  }

  async getPolicy(account: AccountId, id: PolicyId, options: ControlIoOptions = {}): Promise<Policy | undefined> {
    return this.getItem<Policy>(this.partition(account, options), policyKey(asPolicyId(id)), policyLabel(id), options);
  }

  async listPolicies(account: AccountId, options: ControlIoOptions = {}): Promise<Policy[]> {
    return this.queryAll<Policy>(this.partition(account, options), POLICY_PREFIX, `policies of ${account}`, options);
  }

  async deletePolicy(account: AccountId, id: PolicyId, options: ControlIoOptions & { expectedVersion?: number } = {}): Promise<void> {
    const pk = this.partition(account, options);
    const expected = options.expectedVersion === undefined ? undefined : checkExpectedVersion(options.expectedVersion);
    const condition = expected === undefined ? {} : expected === 0 ? { ConditionExpression: 'attribute_not_exists(pk)' } : versionIs(expected);
    await this.send(new DeleteCommand({ TableName: this.table, Key: { pk, sk: policyKey(asPolicyId(id)) }, ...condition }), policyLabel(id), options)
      .catch(rethrowConflict(policyLabel(id), `stored version is not ${expected}`));
  }

  async createSession(account: AccountId, policyId: PolicyId, options: ControlIoOptions = {}): Promise<Session> {
    this.partition(account, options);
    const session = newSession(account, policyId, this.clock.now());
    await this.send(new PutCommand({ TableName: this.table, Item: this.sessionItem(session), ConditionExpression: 'attribute_not_exists(pk)' }), sessionLabel(session.id), options);
    return session;
  }

  async updateSession(account: AccountId, id: SessionId, patch: SessionPatch, options: ControlIoOptions = {}): Promise<Session> {
    const pk = this.partition(account, options);
    return this.readModifyWrite<Session>(pk, sessionKey(asSessionId(id)), sessionLabel(id), options, (current) => {
      const next = applySessionPatch(current, patch, this.clock.now());
      return { record: next, item: this.sessionItem(next) };
    });
  }

  async getSession(account: AccountId, id: SessionId, options: ControlIoOptions = {}): Promise<Session | undefined> {
    return this.getItem<Session>(this.partition(account, options), sessionKey(asSessionId(id)), sessionLabel(id), options);
  }

  async listSessions(account: AccountId, options: ListSessionsOptions): Promise<SessionPage> {
    const pk = this.partition(account, options);
    const limit = checkLimit(options.limit);
    const policyId = options.policyId === undefined ? undefined : asPolicyId(options.policyId);
    const after = options.before === undefined ? undefined : decodeSessionCursor(options.before, account, policyId);
    const query: QueryCommandInput = policyId === undefined
      ? { TableName: this.table, KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)', ExpressionAttributeValues: { ':pk': pk, ':prefix': SESSION_PREFIX }, ConsistentRead: true }
      : { TableName: this.table, IndexName: SESSIONS_BY_POLICY_INDEX, KeyConditionExpression: 'gsi1pk = :g', ExpressionAttributeValues: { ':g': policySessionsKey(account, policyId) } };
    // One more than a page tells whether another page follows, so `next` is never a dead end.
    const found: Session[] = [];
    let start: Item | undefined = after === undefined ? undefined : sessionCursorKey(account, after, policyId);
    do {
      const page = await this.send<QueryCommandOutput>(
        new QueryCommand({ ...query, ScanIndexForward: false, Limit: limit + 1 - found.length, ExclusiveStartKey: start }),
        `sessions of ${account}`, options);
      for (const item of page.Items ?? []) found.push(recordOf<Session>(item) as Session);
      start = page.LastEvaluatedKey;
    } while (start !== undefined && found.length <= limit);
    return sessionPage(found, limit, account, policyId);
  }

  async putTask(account: AccountId, sessionId: SessionId, task: TaskInput, options: ControlIoOptions = {}): Promise<Task> {
    const pk = this.partition(account, options);
    const fresh = newTask(account, asSessionId(sessionId), task, this.clock.now());
    const label = taskLabel(sessionId, fresh.resourceId);
    await this.send(new PutCommand({ TableName: this.table, Item: { ...fresh, pk, sk: taskKey(fresh.sessionId, fresh.resourceId) }, ConditionExpression: 'attribute_not_exists(pk)' }), label, options)
      .catch(rethrowConflict(label, 'task already exists'));
    return fresh;
  }

  async updateTask(account: AccountId, sessionId: SessionId, resourceId: ResourceId, patch: TaskPatch, options: ControlIoOptions = {}): Promise<Task> {
    const pk = this.partition(account, options);
    const sk = taskKey(asSessionId(sessionId), asResourceId(resourceId));
    return this.readModifyWrite<Task>(pk, sk, taskLabel(sessionId, resourceId), options, (current) => {
      const next = applyTaskPatch(current, patch, this.clock.now());
      return { record: next, item: { ...next, pk, sk } };
    });
  }

  async listTasks(account: AccountId, sessionId: SessionId, options: ControlIoOptions = {}): Promise<Task[]> {
    return this.queryAll<Task>(this.partition(account, options), taskPrefix(asSessionId(sessionId)), `tasks of ${sessionId}`, options);
  }

  async getVolumeState(account: AccountId, region: RegionName, volumeId: VolumeId, options: ControlIoOptions = {}): Promise<VolumeState | undefined> {
    const pk = this.partition(account, options);
    return this.getItem<VolumeState>(pk, volumeKey(asRegionName(region), asVolumeId(volumeId)), volumeLabel(region, volumeId), options);
  }

  async setVolumeState(
    account: AccountId, region: RegionName, volumeId: VolumeId, next: VolumeStateInput, expectedBaseSnapshotId: string | null, options: ControlIoOptions = {},
  ): Promise<VolumeState> {
    const pk = this.partition(account, options);
    const state = volumeRecord(account, region, volumeId, next, expectedBaseSnapshotId, this.clock.now());
    const label = volumeLabel(region, volumeId);
    const condition = expectedBaseSnapshotId === null
      ? { ConditionExpression: 'attribute_not_exists(pk)' }
      : { ConditionExpression: '#base = :base', ExpressionAttributeNames: { '#base': 'baseSnapshotId' }, ExpressionAttributeValues: { ':base': expectedBaseSnapshotId } };
    await this.send(new PutCommand({ TableName: this.table, Item: { ...state, pk, sk: volumeKey(state.region, state.volumeId) }, ...condition }), label, options)
      .catch(rethrowConflict(label, `base snapshot is not ${JSON.stringify(expectedBaseSnapshotId)}`));
    return state;
  }

  async acquireWorkerSlot(account: AccountId, holder: string, limit: number, ttlMs: number, options: ControlIoOptions = {}): Promise<boolean> {
    return this.changeSlots(account, options, (current) => {
      const decision = acquireSlot(current, holder, limit, ttlMs, this.clock.now());
      return { write: decision.granted ? decision.next : 'keep', result: decision.granted };
    });
  }

  async releaseWorkerSlots(account: AccountId, release: SlotRelease, options: ControlIoOptions = {}): Promise<void> {
    const matches = releaseMatcher(release);
    await this.changeSlots(account, options, (current) => ({ write: current === undefined ? 'keep' : releaseSlots(current, matches, this.clock.now()), result: undefined }));
  }

  /** Read, decide, then write (or delete, for undefined) only if the slots item is still the one read. */
  private async changeSlots<R>(account: AccountId, options: ControlIoOptions, change: (current: WorkerSlots | undefined) => { write: WorkerSlots | undefined | 'keep'; result: R }): Promise<R> {
    const pk = this.partition(account, options);
    const label = `worker slots of ${account}`;
    for (let attempt = 1; ; attempt++) {
      const current = await this.getItem<WorkerSlots>(pk, WORKER_SLOTS_KEY, label, options);
      const { write, result } = change(current);
      if (write === 'keep') return result;
      const condition = current === undefined ? { ConditionExpression: 'attribute_not_exists(pk)' } : revisionIs(current.revision);
      const command = write === undefined
        ? new DeleteCommand({ TableName: this.table, Key: { pk, sk: WORKER_SLOTS_KEY }, ...condition })
        : new PutCommand({ TableName: this.table, Item: { ...write, pk, sk: WORKER_SLOTS_KEY }, ...condition });
      try {
        await this.send(command, label, options);
        return result;
      } catch (err) {
        if (!(err instanceof ConflictError) || attempt >= this.maxAttempts) throw err;
      }
    }
  }

  private sessionItem(session: Session): Item {
    return { ...session, pk: partitionKey(session.account), sk: sessionKey(session.id), gsi1pk: policySessionsKey(session.account, session.policyId), gsi1sk: sessionKey(session.id) };
  }

  /** Reads, applies `change` (which validates), and writes only if the revision is still the one read. */
  private async readModifyWrite<T extends { revision: number }>(
    pk: string, sk: string, label: string, options: ControlIoOptions, change: (current: T) => { record: T; item: Item },
  ): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const current = await this.getItem<T>(pk, sk, label, options);
      if (current === undefined) throw new ControlNotFoundError(label);
      const { record, item } = change(current);
      try {
        await this.send(new PutCommand({ TableName: this.table, Item: item, ...revisionIs(current.revision) }), label, options);
        return record;
      } catch (err) {
        if (!(err instanceof ConflictError) || attempt >= this.maxAttempts) throw err;
      }
    }
  }

  private async getItem<T>(pk: string, sk: string, label: string, options: ControlIoOptions): Promise<T | undefined> {
    const out = await this.send<GetCommandOutput>(new GetCommand({ TableName: this.table, Key: { pk, sk }, ConsistentRead: true }), label, options);
    return recordOf<T>(out.Item);
  }

  private async queryAll<T>(pk: string, prefix: string, label: string, options: ControlIoOptions): Promise<T[]> {
    const out: T[] = [];
    let start: Item | undefined;
    do {
      const page = await this.send<QueryCommandOutput>(new QueryCommand({
        TableName: this.table, KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':pk': pk, ':prefix': prefix }, ConsistentRead: true, ExclusiveStartKey: start,
      }), label, options);
      for (const item of page.Items ?? []) out.push(recordOf<T>(item) as T);
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
    return out;
  }

  private async send<Out = unknown>(command: object, label: string, options: ControlIoOptions): Promise<Out> {
    throwIfAborted(options.signal);
    try {
      return (await this.doc.send(command as never, { abortSignal: options.signal })) as Out;
    } catch (err) {
      throw translateDynamoError(err, label, options.signal);
    }
  }

  private partition(account: AccountId, options: ControlIoOptions): string {
    throwIfAborted(options.signal);
    return partitionKey(asAccountId(account));
  }
}

function versionIs(version: number): Item {
  return { ConditionExpression: '#version = :version', ExpressionAttributeNames: { '#version': 'version' }, ExpressionAttributeValues: { ':version': version } };
}

function revisionIs(revision: number): Item {
  return { ConditionExpression: '#revision = :revision', ExpressionAttributeNames: { '#revision': 'revision' }, ExpressionAttributeValues: { ':revision': revision } };
}

/** A failed condition becomes a ConflictError that says which expectation was stale. */
function rethrowConflict(label: string, detail: string): (err: unknown) => never {
  return (err) => {
    if (err instanceof ConflictError) throw new ConflictError(label, detail, { cause: err.cause });
    throw err;
  };
}
