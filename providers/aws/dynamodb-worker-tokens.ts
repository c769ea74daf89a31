// WorkerTokenStore on the control table: the state machine's task token for a resource's worker.
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { asAccountId, asResourceId, asSessionId } from '../../core/control/control-ids.ts';
import { partitionKey } from '../../core/control/control-keys.ts';
import type { WorkerRecord, WorkerRecordStore } from '../../core/orchestration/ports.ts';
import { translateDynamoError } from './dynamodb-control-errors.ts';

/** Sort key of a worker token item: WORKER#<session>#<resource> in the account's partition. */
export const workerTokenKey = (sessionId: string, resourceId: string): string => `WORKER#${asSessionId(sessionId)}#${asResourceId(resourceId)}`;

export class DynamoDbWorkerTokens implements WorkerRecordStore {
  private readonly doc: DynamoDBDocumentClient;
  private readonly tableName: string;
  private readonly now: () => number;
  constructor(client: DynamoDBClient, tableName: string, now: () => number = Date.now) {
    this.tableName = tableName;
    this.now = now;
    this.doc = DynamoDBDocumentClient.from(client);
  }

  async recordWorkerToken(account: string, sessionId: string, resourceId: string, token: string): Promise<void> {
    const item = { pk: partitionKey(asAccountId(account)), sk: workerTokenKey(sessionId, resourceId), token, recordedAt: this.now() };
    try {
      await this.doc.send(new PutCommand({ TableName: this.tableName, Item: item }));
    } catch (err) {
      throw translateDynamoError(err, `worker token of ${resourceId} in session ${sessionId}`);
    }
  }

  async recordWorkerInstance(account: string, sessionId: string, resourceId: string, instanceId: string): Promise<void> {
    const key = { pk: partitionKey(asAccountId(account)), sk: workerTokenKey(sessionId, resourceId) };
    try {
      await this.doc.send(new UpdateCommand({ TableName: this.tableName, Key: key, UpdateExpression: 'SET instanceId = :i, launchedAt = :t', ExpressionAttributeValues: { ':i': instanceId, ':t': this.now() } }));
    } catch (err) {
      throw translateDynamoError(err, `worker instance of ${resourceId} in session ${sessionId}`);
    }
  }

  async getWorker(account: string, sessionId: string, resourceId: string): Promise<WorkerRecord | undefined> {
    const key = { pk: partitionKey(asAccountId(account)), sk: workerTokenKey(sessionId, resourceId) };
    try {
      const out = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true }));
      if (!out.Item) return undefined;
      return { token: out.Item.token as string | undefined, instanceId: out.Item.instanceId as string | undefined };
    } catch (err) {
      throw translateDynamoError(err, `worker of ${resourceId} in session ${sessionId}`);
    }
  }
}
