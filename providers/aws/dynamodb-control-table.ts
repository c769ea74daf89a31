// The control table's key schema as data (the CDK stack reuses it) and createControlTable for tests and local runs.
import { CreateTableCommand, DescribeTableCommand, type CreateTableCommandInput, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ControlStoreError } from '../../core/control/control-errors.ts';

/**
 * Single-table design: pk = ACCOUNT#<id>; sk = POLICY#<id> | SESSION#<time-ordered id> |
 * TASK#<session>#<resource> | VOLUME#<region>#<volume>. Sessions also carry gsi1pk =
 * ACCOUNT#<id>#POLICY#<policy> and gsi1sk = SESSION#<id>, so one policy's sessions page newest
 * first from the index, still inside the account.
 */
export const CONTROL_TABLE_SCHEMA = {
  partitionKey: { name: 'pk', type: 'S' },
  sortKey: { name: 'sk', type: 'S' },
  globalSecondaryIndexes: [
    { indexName: 'gsi1', partitionKey: { name: 'gsi1pk', type: 'S' }, sortKey: { name: 'gsi1sk', type: 'S' }, projectionType: 'ALL' },
  ],
  billingMode: 'PAY_PER_REQUEST',
} as const;

export const SESSIONS_BY_POLICY_INDEX = CONTROL_TABLE_SCHEMA.globalSecondaryIndexes[0].indexName;

/** The CreateTable input for a control table named `name`. */
export function controlTableInput(name: string): CreateTableCommandInput {
  const s = CONTROL_TABLE_SCHEMA;
  const attributes = [s.partitionKey, s.sortKey, ...s.globalSecondaryIndexes.flatMap((i) => [i.partitionKey, i.sortKey])];
  return {
    TableName: name,
    BillingMode: s.billingMode,
    AttributeDefinitions: attributes.map((a) => ({ AttributeName: a.name, AttributeType: a.type })),
    KeySchema: [
      { AttributeName: s.partitionKey.name, KeyType: 'HASH' },
      { AttributeName: s.sortKey.name, KeyType: 'RANGE' },
    ],
    GlobalSecondaryIndexes: s.globalSecondaryIndexes.map((i) => ({
      IndexName: i.indexName,
      KeySchema: [
        { AttributeName: i.partitionKey.name, KeyType: 'HASH' },
        { AttributeName: i.sortKey.name, KeyType: 'RANGE' },
      ],
      Projection: { ProjectionType: i.projectionType },
    })),
  };
}

/** Creates the table and waits until it (and its index) is ACTIVE. */
export async function createControlTable(client: DynamoDBClient, name: string, options: { timeoutMs?: number } = {}): Promise<void> {
  await client.send(new CreateTableCommand(controlTableInput(name)));
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  for (;;) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: name }));
    const indexesActive = (Table?.GlobalSecondaryIndexes ?? []).every((i) => i.IndexStatus === 'ACTIVE');
    if (Table?.TableStatus === 'ACTIVE' && indexesActive) return;
    if (Date.now() > deadline) throw new ControlStoreError(`table ${name} not ACTIVE after ${options.timeoutMs ?? 60_000} ms`, { retryable: true });
    await new Promise((done) => setTimeout(done, 50));
  }
}
