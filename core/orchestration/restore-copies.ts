// A whole-instance restore into a member account: the restored snapshots, shared with it, are copied into it first,
// because RegisterImage and RunInstances take only snapshots the account owns.
import { CloudCallError } from './errors.ts';
import type { RestoreTargets } from './restore-ports.ts';
import { RESTORE_TAG, type RestoredPoint, type RestorePlan } from './restore-types.ts';
import { SNAPSHOT_TAGS } from './run-types.ts';

/** Tag on each copy naming the restored snapshot it was copied from: a repeated call finds its copies by it. */
export const COPY_OF_TAG = 'cloudkeep:copy-of';

/** $.copies: restored snapshot id -> its copy in the target account (empty when the target is the own account). */
export interface SnapshotCopies {
  copies: Record<string, string>;
  available: boolean;
}

/**
 * Starts the copies that do not exist yet and reports whether all are completed; the state machine calls it
 * again until they are. CopySnapshot has no idempotency token, so the copies are found by their tags instead.
 */
export async function copyInstanceSnapshots(targets: RestoreTargets, plan: RestorePlan, restored: RestoredPoint): Promise<SnapshotCopies> {
  const { region, accountId } = plan.target;
  if (!accountId) return { copies: {}, available: true };
  const existing = (await targets.target.ownSnapshots(region, RESTORE_TAG, plan.restoreId)).filter((s) => s.tags[COPY_OF_TAG]);
  const failed = existing.filter((s) => s.state === 'error');
  if (failed.length > 0) throw new CloudCallError(`the copy ${failed.map((s) => s.id).join(', ')} of restore ${plan.restoreId} in account ${accountId} ended in error`, { retryable: false });
  const copies: Record<string, string> = {};
  const states: string[] = [];
  for (const s of restored.snapshots) {
    const found = existing.find((c) => c.tags[COPY_OF_TAG] === s.snapshotId);
    if (found) {
      copies[s.snapshotId] = found.id;
      states.push(found.state);
      continue;
    }
    await targets.own.shareSnapshot(region, s.snapshotId, accountId);
    copies[s.snapshotId] = await targets.target.copySnapshot({
      region, sourceSnapshotId: s.snapshotId, description: `Cloudkeep restore ${plan.restoreId} of ${s.disk}`.slice(0, 255),
      tags: { ...plan.tags, [SNAPSHOT_TAGS.managed]: SNAPSHOT_TAGS.managedValue, [COPY_OF_TAG]: s.snapshotId },
    });
    states.push('pending');
  }
  return { copies, available: states.every((x) => x === 'completed') };
}
