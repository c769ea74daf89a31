// DynamoDbControlStore on dynalite: the shared contract, the single-table key layout, and error translation.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { GetItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { ManualClock } from '../../core/clock.ts';
import { ConflictError, ControlStoreError } from '../../core/control/control-errors.ts';
import { asAccountId, asPolicyId, asRegionName, asResourceId, asVolumeId } from '../../core/control/control-ids.ts';
import { translateDynamoError } from '../../providers/aws/dynamodb-control-errors.ts';
import { DynamoDbControlStore } from '../../providers/aws/dynamodb-control-store.ts';
import { CONTROL_TABLE_SCHEMA, controlTableInput, createControlTable } from '../../providers/aws/dynamodb-control-table.ts';
import { describeControlStoreContract } from '../support/control-store-contract.ts';
import { startDynalite, type Dynalite } from '../support/dynalite.ts';

let starting: Promise<Dynalite> | undefined;
/** One dynalite for the whole file, started on first use; each fixture gets its own table. */
const dynalite = (): Promise<Dynalite> => (starting ??= startDynalite());
after(async () => {
  await (await starting?.catch(() => undefined))?.stop();
});

async function freshStore(clock = new ManualClock()): Promise<{ store: DynamoDbControlStore; db: Dynalite; table: string }> {
  const db = await dynalite();
  const table = db.tableName();
  const client = db.client();
  await createControlTable(client, table);
  return { store: new DynamoDbControlStore({ client, tableName: table, clock }), db, table };
}

describe('DynamoDbControlStore on dynalite', { timeout: 120_000 }, () => {
  describeControlStoreContract('DynamoDbControlStore (dynalite)', async (clock) => {
    const { store } = await freshStore(clock);
    return { store, cleanup: async () => {} };
  });

  it('stores items under ACCOUNT#<id> with typed sort keys', async () => {
    const { store, db, table } = await freshStore();
    const account = asAccountId('123456789012');
    await store.putPolicy(account, { id: asPolicyId('p1'), name: 'one', body: { n: 1 } }, 0);
    const session = await store.createSession(account, asPolicyId('p1'));
    await store.putTask(account, session.id, { resourceId: asResourceId('vol-1') });
    await store.setVolumeState(account, asRegionName('eu-west-1'), asVolumeId('vol-1'), { baseSnapshotId: 's1', lastRestorePointId: 'r1' }, null);
    const out = await db.client().send(new QueryCommand({ TableName: table, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': { S: 'ACCOUNT#123456789012' } } }));
    assert.deepEqual(out.Items?.map((i) => i.sk.S), ['POLICY#p1', `SESSION#${session.id}`, `TASK#${session.id}#vol-1`, 'VOLUME#eu-west-1#vol-1']);
    const raw = await db.client().send(new GetItemCommand({ TableName: table, Key: { pk: { S: 'ACCOUNT#123456789012' }, sk: { S: `SESSION#${session.id}` } } }));
    assert.equal(raw.Item?.gsi1pk.S, 'ACCOUNT#123456789012#POLICY#p1');
  });

  it('exports the key schema as data', () => {
    assert.equal(CONTROL_TABLE_SCHEMA.partitionKey.name, 'pk');
    assert.equal(CONTROL_TABLE_SCHEMA.sortKey.name, 'sk');
    const input = controlTableInput('t-1');
    assert.deepEqual(input.KeySchema, [{ AttributeName: 'pk', KeyType: 'HASH' }, { AttributeName: 'sk', KeyType: 'RANGE' }]);
    assert.equal(input.GlobalSecondaryIndexes?.[0].IndexName, 'gsi1');
  });

  it('fails with a non-retryable ControlStoreError when the table is missing', async () => {
    const db = await dynalite();
    const store = new DynamoDbControlStore({ client: db.client(), tableName: 'no-such-table' });
    await assert.rejects(store.getPolicy(asAccountId('1'), asPolicyId('p')), (err: unknown) => {
      assert.ok(err instanceof ControlStoreError, String(err));
      assert.equal(err.retryable, false);
      assert.match(err.message, /ResourceNotFoundException/);
      return true;
    });
  });

  it('translates SDK errors at the boundary', () => {
    const sdk = (name: string, status: number): Error => Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });
    assert.ok(translateDynamoError(sdk('ConditionalCheckFailedException', 400), 'x') instanceof ConflictError);
    for (const [name, status] of [['ProvisionedThroughputExceededException', 400], ['ThrottlingException', 400], ['InternalServerError', 500], ['Other', 503]] as const) {
      const err = translateDynamoError(sdk(name, status), 'x');
      assert.ok(err instanceof ControlStoreError && err.retryable, name);
    }
    const validation = translateDynamoError(sdk('ValidationException', 400), 'x');
    assert.ok(validation instanceof ControlStoreError && !validation.retryable);
    assert.ok(translateDynamoError(Object.assign(new Error('reset'), { code: 'ECONNRESET' }), 'x') instanceof ControlStoreError);
  });
});
