// Runs the ControlStore contract over FileControlStore, plus its on-disk layout and persistence across instances.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ManualClock } from '../../core/clock.ts';
import { asAccountId, asPolicyId } from '../../core/control/control-ids.ts';
import { FileControlStore } from '../../providers/local/file-control-store.ts';
import { describeControlStoreContract } from '../support/control-store-contract.ts';

const tempRoot = (): Promise<string> => mkdtemp(join(tmpdir(), 'cloudkeep-control-'));

describeControlStoreContract('FileControlStore', async (clock) => {
  const root = await tempRoot();
  return { store: new FileControlStore(root, { clock }), cleanup: () => rm(root, { recursive: true, force: true }) };
});

describe('FileControlStore', () => {
  it('keeps one file per item under one directory per account, and a new instance reads them', async () => {
    const root = await tempRoot();
    try {
      const account = asAccountId('123456789012');
      const first = new FileControlStore(root, { clock: new ManualClock() });
      await first.putPolicy(account, { id: asPolicyId('p/1'), name: 'one', body: { a: 1 } }, 0);
      const session = await first.createSession(account, asPolicyId('p/1'));
      const dirs = await readdir(root);
      assert.deepEqual(dirs.map((d) => Buffer.from(d, 'base64url').toString()), ['ACCOUNT#123456789012']);
      const files = (await readdir(join(root, dirs[0]))).map((f) => Buffer.from(f.slice(0, -5), 'base64url').toString()).sort();
      assert.deepEqual(files, ['POLICY#p/1', `SESSION#${session.id}`]);
      const second = new FileControlStore(root);
      assert.equal((await second.getPolicy(account, asPolicyId('p/1')))?.version, 1);
      assert.deepEqual(await second.getSession(account, session.id), session);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
