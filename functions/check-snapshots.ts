// Lambda CheckSnapshots: reports whether the resource's snapshots completed; fails when one errored.
import type { Context } from 'aws-lambda';
import type { ResourceItem } from '../core/orchestration/run-types.ts';
import { checkSnapshots } from '../core/orchestration/snapshot-run.ts';
import { deps } from './shared/composition.ts';
import { handle } from './shared/handle.ts';
import { resourceItem, snapshotProgress } from './shared/schemas.ts';

const input = resourceItem.extend({ snapshots: snapshotProgress });

export const handler = (event: unknown, context?: Context) =>
  handle('CheckSnapshots', input, event, context, async (item) => {
    const { snapshotter } = await deps().member(item.run.roleArn, `cloudkeep-${item.run.sessionId}`);
    return checkSnapshots(snapshotter, item as ResourceItem, item.snapshots.snapshotIds);
  });
