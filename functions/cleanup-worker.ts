// Lambda CleanupWorker: after a failed or timed-out worker, terminates it, deletes the run's snapshots (never a base), fails the task.
import type { Context } from 'aws-lambda';
import { z } from 'zod';
import type { ItemResult, ResourceItem } from '../core/orchestration/run-types.ts';
import { cleanupWorker } from '../core/orchestration/worker-run.ts';
import { deps } from './shared/composition.ts';
import { handle } from './shared/handle.ts';
import { itemResult, resourceItem, snapshotProgress } from './shared/schemas.ts';

const input = resourceItem.extend({ snapshots: snapshotProgress, workerError: itemResult.shape.error });

/** Returns the item's failed result; the Map goes on with the other resources. */
export const handler = (event: unknown, context?: Context) =>
  handle('CleanupWorker', input, event, context, async (item) => {
    const d = deps();
    const { snapshotter } = await d.member(item.run.roleArn, `cloudkeep-${item.run.sessionId}`);
    return cleanupWorker(d.store, d.workerTokens, d.launcher(), snapshotter, item as ResourceItem, item.snapshots.snapshotIds, item.workerError as ItemResult['error']);
  });
