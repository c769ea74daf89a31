// Orchestration use-cases without SDKs: backup due, snapshot retention with protected bases, session status.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isBackupDue } from '../../core/orchestration/plan-run.ts';
import type { SnapshotInfo } from '../../core/orchestration/ports.ts';
import { itemErrorText, sessionStatusOf } from '../../core/orchestration/session-bookkeeping.ts';
import { decideSnapshotRetention } from '../../core/orchestration/snapshot-retention.ts';
import { parsePolicy } from '../../core/policy/policy-schema.ts';

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 5, 1);
const policy = parsePolicy({
  id: 'p', name: 'P', account: { provider: 'aws', id: '444455556666', roleArn: 'arn:aws:iam::444455556666:role/cloudkeep-member' }, regions: ['eu-west-1'],
  selection: { resourceTypes: ['ec2-instance', 'rds-instance'] },
  backup: { schedule: 'rate(1 day)', timeZone: 'UTC', retention: { keepDaily: 7 }, repository: 's3://b/p' },
}, 'test');

const snap = (id: string, days: number, volumeId = 'vol-1', status: SnapshotInfo['status'] = 'completed'): SnapshotInfo => ({ id, volumeId, status, startTime: NOW - days * DAY, tags: {} });

describe('isBackupDue', () => {
  it('is due when never backed up or a scheduled run passed; never for databases or without a backup section', () => {
    assert.equal(isBackupDue(policy, 'ec2-instance', undefined, NOW), true);
    assert.equal(isBackupDue(policy, 'ec2-instance', NOW - 2 * DAY, NOW), true);
    assert.equal(isBackupDue(policy, 'ec2-instance', NOW - DAY / 2, NOW), false);
    assert.equal(isBackupDue(policy, 'rds-instance', undefined, NOW), false);
    assert.equal(isBackupDue({ ...policy, backup: undefined }, 'ec2-instance', undefined, NOW), false);
  });
});

describe('decideSnapshotRetention', () => {
  it('applies retention per volume and never removes a protected base snapshot', () => {
    const all = [snap('a0', 0), snap('a1', 1), snap('a2', 2), snap('a3', 3), snap('b0', 0, 'vol-2'), snap('b5', 5, 'vol-2')];
    const d = decideSnapshotRetention(all, { keepLast: 1 }, new Set(['a3']), NOW);
    assert.deepEqual(d.keep.map((s) => s.id).sort(), ['a0', 'b0']);
    assert.deepEqual(d.remove.map((s) => s.id).sort(), ['a1', 'a2', 'b5']);
    assert.deepEqual(d.protected.map((s) => s.id), ['a3']);
  });

  it('leaves pending and failed snapshots alone', () => {
    const d = decideSnapshotRetention([snap('p', 9, 'vol-1', 'pending'), snap('e', 9, 'vol-1', 'error'), snap('c', 0)], { keepLast: 1 }, new Set(), NOW);
    assert.deepEqual([d.keep.map((s) => s.id), d.remove.map((s) => s.id)], [['c'], []]);
  });
});

describe('session status', () => {
  const ok = { resource: { id: 'a' }, status: 'succeeded' as const };
  const bad = { resource: { id: 'b' }, status: 'failed' as const, error: { Error: 'Cloudkeep.SnapshotFailed', Cause: 'snapshot snap-1 failed' } };
  it('is succeeded, partial or failed by the item results', () => {
    assert.equal(sessionStatusOf([]), 'succeeded');
    assert.equal(sessionStatusOf([ok, ok]), 'succeeded');
    assert.equal(sessionStatusOf([ok, bad]), 'partial');
    assert.equal(sessionStatusOf([bad]), 'failed');
    assert.equal(itemErrorText(bad.error), 'Cloudkeep.SnapshotFailed: snapshot snap-1 failed');
  });
});

describe('EBS read quota split across workers', () => {
  it('gives each worker of a run an equal share of the account quota', async () => {
    const { accountReadShare } = await import('../../core/orchestration/worker-run.ts');
    assert.equal(accountReadShare(1000, 4), 250);
    assert.equal(accountReadShare(1000, undefined), 1000);
    assert.equal(accountReadShare(1000, 3) * 3 <= 1000, true);
    assert.equal(accountReadShare(2, 40), 1, 'never below one request per second');
  });
});

describe('session metrics', () => {
  it('counts a failed or partial session once for the FailedSessions alarm, nothing otherwise', async () => {
    const { sessionMetrics, FAILED_SESSIONS_METRIC } = await import('../../core/orchestration/session-metrics.ts');
    assert.deepEqual(sessionMetrics('failed'), [{ name: FAILED_SESSIONS_METRIC, value: 1 }]);
    assert.deepEqual(sessionMetrics('partial'), [{ name: FAILED_SESSIONS_METRIC, value: 1 }]);
    assert.deepEqual(sessionMetrics('succeeded'), []);
  });
});

describe('volume state after a worker', () => {
  it('makes each backed-up snapshot its volume\'s new base, compare-and-set on the old one', async () => {
    const { recordVolumeStates } = await import('../../core/orchestration/volume-state.ts');
    const { MemoryControlStore } = await import('../../providers/memory/memory-control-store.ts');
    const { asAccountId, asRegionName, asVolumeId } = await import('../../core/control/control-ids.ts');
    const store = new MemoryControlStore();
    await recordVolumeStates(store, '123456789012', 'eu-west-1', [{ volumeId: 'vol-1', snapshotId: 'snap-a' }], 'rp-1');
    await recordVolumeStates(store, '123456789012', 'eu-west-1', [{ volumeId: 'vol-1', snapshotId: 'snap-b' }], 'rp-2');
    const state = await store.getVolumeState(asAccountId('123456789012'), asRegionName('eu-west-1'), asVolumeId('vol-1'));
    assert.equal(state?.baseSnapshotId, 'snap-b');
    assert.equal(state?.lastRestorePointId, 'rp-2');
  });
});
