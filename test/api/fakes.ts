// Fakes of the API's ports for HTTP tests: a fixed inventory, a runner that records a session, a snapshot catalog.
import { asAccountId, asPolicyId, asResourceId } from '../../core/control/control-ids.ts';
import type { ControlStore } from '../../core/control/control-store.ts';
import type { SnapshotInfo, SnapshotTarget } from '../../core/orchestration/ports.ts';
import type { DiscoveredResource } from '../../core/policy/plan.ts';
import type { Inventory, PolicyRunner, SessionLog, SnapshotCatalog } from '../../functions/api/ports.ts';
import { A, B } from './api-fixture.ts';

const volume = (account: string, id: string, tags: Record<string, string>): DiscoveredResource => ({ provider: 'aws', account, region: 'eu-west-1', type: 'ebs-volume', id, tags });

/** A: vol-A (backed up by the fixture) and vol-new tagged backup=daily, vol-other untagged; B: vol-B. */
export const RESOURCES: Record<string, DiscoveredResource[]> = {
  [A]: [volume(A, `vol-${A}`, { backup: 'daily' }), volume(A, 'vol-new', { backup: 'daily' }), volume(A, 'vol-other', {})],
  [B]: [volume(B, `vol-${B}`, { backup: 'daily' })],
};

export class FixedInventory implements Inventory {
  async resources(account: string): Promise<DiscoveredResource[]> {
    return RESOURCES[account] ?? [];
  }
}

/** Records a session with one succeeded task per call, and its log when given one. */
export class RecordingRunner implements PolicyRunner {
  readonly runs: Array<{ account: string; policyId: string }> = [];
  private readonly store: ControlStore;
  private readonly log: SessionLog | undefined;

  constructor(store: ControlStore, log?: SessionLog) {
    this.store = store;
    this.log = log;
  }

  async runNow(account: string, policyId: string): Promise<{ sessionId: string }> {
    this.runs.push({ account, policyId });
    const acc = asAccountId(account);
    const session = await this.store.createSession(acc, asPolicyId(policyId));
    await this.store.putTask(acc, session.id, { resourceId: asResourceId(`vol-${account}`), status: 'running' });
    await this.log?.append(account, session.id, { time: session.startedAt, level: 'info', message: 'started by hand' });
    await this.log?.append(account, session.id, { time: session.startedAt + 5, level: 'error', resourceId: `vol-${account}`, message: 'backup failed: disk gone' });
    return { sessionId: session.id };
  }
}

export class FixedSnapshots implements SnapshotCatalog {
  readonly asked: Array<{ account: string; target: SnapshotTarget }> = [];

  async list(account: string, target: SnapshotTarget): Promise<SnapshotInfo[]> {
    this.asked.push({ account, target });
    return [
      { id: 'snap-2', volumeId: target.id, status: 'pending', startTime: 2_000, tags: {} },
      { id: 'snap-1', volumeId: target.id, status: 'completed', startTime: 1_000, tags: {} },
    ];
  }
}

/** A valid policy of `account` selecting volumes tagged backup=daily (and the id vol-missing), backed up daily. */
export function volumePolicy(account: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: 'volumes',
    name: 'Volumes',
    account: { provider: 'aws', id: account, roleArn: `arn:aws:iam::${account}:role/CloudkeepBackup` },
    regions: ['eu-west-1'],
    selection: { resourceTypes: ['ebs-volume'], tags: { backup: 'daily' }, ids: ['vol-missing'] },
    snapshots: { schedule: 'rate(6 hours)', timeZone: 'UTC', retention: { keepLast: 4 } },
    backup: { schedule: '0 2 * * *', timeZone: 'UTC', retention: { keepDaily: 7 }, repository: 'file:///var/backups/repo' },
    ...overrides,
  };
}
