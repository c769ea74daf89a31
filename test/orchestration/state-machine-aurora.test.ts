// The synthesized backup definition over the wire for an Aurora cluster and a standalone EBS volume: cluster snapshots
// checked until available and pruned by retention, the volume snapshotted and handed to a worker.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parsePolicy } from '../../core/policy/policy-schema.ts';
import { parseTask } from '../../worker-image/task.ts';
import { startBackupMachine, type BackupMachine } from '../support/backup-machine.ts';
import type { FakeSnapshot } from '../support/fake-aws-query-server.ts';

const MEMBER = '444455556666';
const REGION = 'eu-west-1';
const DAY = 86_400_000;

const policy = parsePolicy({
  id: 'data', name: 'Data stores', account: { provider: 'aws', id: MEMBER, roleArn: `arn:aws:iam::${MEMBER}:role/cloudkeep-member` }, regions: [REGION],
  selection: { resourceTypes: ['aurora-cluster', 'ebs-volume'], tags: { backup: 'daily' } },
  snapshots: { schedule: 'rate(1 day)', timeZone: 'UTC', retention: { keepLast: 2 } },
  backup: { schedule: 'rate(1 day)', timeZone: 'UTC', retention: { keepDaily: 7 }, repository: 's3://backups/data' },
  worker: { instanceSize: [{ upToGiB: 100, type: 'm7g.large' }], subnets: { [REGION]: ['subnet-0b0b0b0b'] }, spotAllowed: false },
}, 'test policy');

let m: BackupMachine;
before(async () => {
  m = await startBackupMachine();
});
after(async () => m?.stop());

describe('backup state machine: Aurora cluster and EBS volume (CDK definition, run locally)', () => {
  it('snapshots the cluster until available, prunes its old snapshots, and backs the volume up with a worker', async () => {
    const c = m.aws.cloud;
    const now = Date.now();
    const old = (id: string, days: number): FakeSnapshot => ({
      id, region: REGION, clusterId: 'orders', state: 'completed', startTime: now - days * DAY, checks: 0,
      tags: { 'cloudkeep:managed': 'true', 'cloudkeep:resource': 'orders' },
    });
    c.clusters = [{ id: 'orders', region: REGION, tags: { backup: 'daily' } }, { id: 'mysql-classic', region: REGION, tags: { backup: 'daily' }, engine: 'mysql' }, { id: 'scratch', region: REGION, tags: {} }];
    c.volumes = [{ id: 'vol-0data', region: REGION, tags: { backup: 'daily', Name: 'data' }, sizeGiB: 20 }, { id: 'vol-0tmp', region: REGION, tags: {}, sizeGiB: 5 }];
    c.snapshots = [old('cloudkeep-orders-old1', 3), old('cloudkeep-orders-old2', 2), old('cloudkeep-orders-old3', 1)];

    const { output, tasks, session } = await m.run('tenant-aurora', policy);
    assert.equal(output.status, 'succeeded');
    assert.equal(session?.status, 'succeeded');
    assert.deepEqual(tasks.map((t) => [t.resourceId, t.status]), [['orders', 'succeeded'], ['vol-0data', 'succeeded']]);

    // The cluster: one new manual snapshot, tagged, seen creating, then checked again until available.
    const calls = (name: string) => c.calls.filter((x) => x === name).length;
    assert.equal(calls(`rds:CreateDBClusterSnapshot:${REGION}`), 1);
    const fresh = c.snapshots.filter((s) => s.clusterId === 'orders' && s.tags['cloudkeep:session'] === output.sessionId);
    assert.equal(fresh.length, 1);
    assert.deepEqual([fresh[0].state, fresh[0].tags['cloudkeep:managed'], fresh[0].tags['cloudkeep:policy']], ['completed', 'true', 'data']);
    assert.ok(calls(`rds:DescribeDBClusterSnapshots:${REGION}`) >= 3, 'two status checks (creating, available) and the retention listing');
    // keepLast 2: the new snapshot and the newest old one stay; the two oldest go.
    assert.equal(calls(`rds:DeleteDBClusterSnapshot:${REGION}`), 2);
    assert.deepEqual(c.snapshots.filter((s) => s.clusterId === 'orders').map((s) => s.id).sort(), [fresh[0].id, 'cloudkeep-orders-old3'].sort());

    // The volume: CreateSnapshot (not CreateSnapshots), completed, then a worker with that snapshot as its only disk.
    const [volumeSnapshot] = c.snapshots.filter((s) => s.volumeId === 'vol-0data');
    assert.deepEqual([volumeSnapshot.state, volumeSnapshot.sizeGiB, volumeSnapshot.tags['cloudkeep:resource']], ['completed', 20, 'vol-0data']);
    assert.equal(calls(`ec2:CreateSnapshot:${REGION}`), 1);
    assert.equal(calls(`ec2:CreateSnapshots:${REGION}`), 0);
    assert.deepEqual(m.workerCalls.map((w) => w.resourceId), ['vol-0data'], 'only the volume gets an image-level backup');
    const [worker] = c.workers;
    const task = parseTask(Buffer.from(worker.params.UserData, 'base64').toString('utf8'));
    assert.deepEqual([task.resource.id, task.resource.kind, task.disks?.map((d) => d.snapshotId)], ['vol-0data', 'volume', [volumeSnapshot.id]]);
    // Nothing of the unselected resources.
    assert.ok(!c.snapshots.some((s) => s.clusterId === 'mysql-classic' || s.clusterId === 'scratch' || s.volumeId === 'vol-0tmp'));
  });
});
