// WorkerTokenStore on the control table: the state machine's task token for a resource's worker.
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { asAccountId, asResourceId, asSessionId } from '../../core/control/control-ids.ts';
import { partitionKey } from '../../core/control/control-keys.ts';
import type { WorkerTokenStore } from '../../core/orchestration/ports.ts';
import { translateDynamoError } from './dynamodb-control-errors.ts';

/** Sort key of a worker token item: WORKER#<session>#<resource> in the account's partition. */
export const workerTokenKey = (sessionId: string, resourceId: string): string => `WORKER#${asSessionId(sessionId)}#${asResourceId(resourceId)}`;

export class DynamoDbWorkerTokens implements WorkerTokenStore {
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
}
