// Worker slots: every policy and run of an account shares its EBS read quota through at most N workers at once.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { asAccountId, asPolicyId } from '../../core/control/control-ids.ts';
import type { JsonObject } from '../../core/control/control-store.ts';
import { WorkerSlotsBusyError } from '../../core/orchestration/errors.ts';
import type { WorkerLaunch, WorkerLauncher, WorkerRecord, WorkerRecordStore } from '../../core/orchestration/ports.ts';
import type { ResourceItem } from '../../core/orchestration/run-types.ts';
import { finishSession } from '../../core/orchestration/session-bookkeeping.ts';
import { cleanupWorker, launchWorker } from '../../core/orchestration/worker-run.ts';
import { parsePolicy } from '../../core/policy/policy-schema.ts';
import { parseTask } from '../../worker-image/task.ts';
import { MemoryControlStore } from '../../providers/memory/memory-control-store.ts';

const ACCOUNT = '444455556666';
const policy = (id: string) => parsePolicy({
  id, name: id, account: { provider: 'aws', id: ACCOUNT, roleArn: `arn:aws:iam::${ACCOUNT}:role/cloudkeep-member` }, regions: ['eu-west-1'],
  selection: { resourceTypes: ['ebs-volume'] },
  backup: { schedule: 'rate(1 day)', timeZone: 'UTC', retention: { keepLast: 3 }, repository: 's3://backups/x' },
  worker: { instanceSize: [{ upToGiB: 100, type: 'm7g.large' }], subnets: { 'eu-west-1': ['subnet-0a0a0a0a'] }, spotAllowed: false },
}, 'test policy');

class RecordingLauncher implements WorkerLauncher {
  readonly launched: WorkerLaunch[] = [];
  readonly terminated: string[] = [];
  async launch(spec: WorkerLaunch) {
    this.launched.push(spec);
    return { instanceId: `i-${this.launched.length}` };
  }
  async terminate(_region: string, id: string) {
    this.terminated.push(id);
  }
}

class MemoryWorkerRecords implements WorkerRecordStore {
  readonly records = new Map<string, WorkerRecord>();
  async recordWorkerToken(account: string, sessionId: string, resourceId: string, token: string) {
    this.records.set(`${account}/${sessionId}/${resourceId}`, { token });
  }
  async recordWorkerInstance(account: string, sessionId: string, resourceId: string, instanceId: string) {
    this.records.set(`${account}/${sessionId}/${resourceId}`, { ...this.records.get(`${account}/${sessionId}/${resourceId}`), instanceId });
  }
  async getWorker(account: string, sessionId: string, resourceId: string) {
    return this.records.get(`${account}/${sessionId}/${resourceId}`);
  }
}

const item = (policyId: string, sessionId: string, volumeId: string): ResourceItem => ({
  run: { account: ACCOUNT, policyId, sessionId, roleArn: `arn:aws:iam::${ACCOUNT}:role/cloudkeep-member`, maxConcurrency: 10 },
  resource: { type: 'ebs-volume', id: volumeId, region: 'eu-west-1', tags: {}, volumeIds: [volumeId] },
  backupDue: true, tags: {},
});

describe('worker slots across policies of one account', () => {
  it('launches at most `slots` workers at once across two policies, each reading at quota/slots; released slots are reused', async () => {
    const store = new MemoryControlStore();
    for (const id of ['daily', 'hourly']) await store.putPolicy(asAccountId(ACCOUNT), { id: asPolicyId(id), name: id, body: policy(id) as unknown as JsonObject }, 0);
    const launcher = new RecordingLauncher();
    const records = new MemoryWorkerRecords();
    const settings = { keySpec: 'passphrase', accountReadRps: 1000, accountWorkerSlots: 2 };
    const launch = (i: ResourceItem) => launchWorker(store, records, launcher, i, [{ snapshotId: `snap-${i.resource.id}`, volumeId: i.resource.id, sizeGiB: 8 }], `token-${i.run.sessionId}-${i.resource.id}`, settings);
    const daily = (await store.createSession(asAccountId(ACCOUNT), asPolicyId('daily'))).id;
    const hourly = (await store.createSession(asAccountId(ACCOUNT), asPolicyId('hourly'))).id;
    const a = item('daily', daily, 'vol-a');
    const b = item('hourly', hourly, 'vol-b');
    const c = item('hourly', hourly, 'vol-c');
    for (const i of [a, b, c]) await store.putTask(asAccountId(ACCOUNT), i.run.sessionId as never, { resourceId: i.resource.id as never });
    await launch(a);
    await launch(b);
    await assert.rejects(launch(c), (err: unknown) => err instanceof WorkerSlotsBusyError && /all 2 worker slots of account 444455556666/.test((err as Error).message));
    assert.equal(launcher.launched.length, 2, 'no third instance while both slots are taken');
    for (const spec of launcher.launched) {
      const task = parseTask(Buffer.from(spec.userData, 'base64').toString('utf8'));
      assert.equal(task.limits?.readRps?.account, 500, 'each worker reads at the account quota / slots');
    }
    // The daily worker fails and is cleaned up: its slot is free for the waiting hourly resource.
    await cleanupWorker(store, records, launcher, { create: async () => [], describe: async () => [], list: async () => [], delete: async () => undefined }, a, [], 'boom');
    await launch(c);
    assert.equal(launcher.launched.length, 3);
    // The hourly session ends: both its slots are given back at once.
    await finishSession(store, ACCOUNT, hourly, [{ resource: { id: 'vol-b' }, status: 'succeeded' }, { resource: { id: 'vol-c' }, status: 'succeeded' }]);
    assert.equal(await store.acquireWorkerSlot(asAccountId(ACCOUNT), 'other/x', 2, 60_000), true);
    assert.equal(await store.acquireWorkerSlot(asAccountId(ACCOUNT), 'other/y', 2, 60_000), true);
  });
});
