// Lambda RestoreCleanup: after a failed restore (the state machine's Catch) or a stopped/timed-out one (EventBridge),
// terminates the worker, gives back its worker slot and deletes every instance, image, volume and snapshot tagged with the restore.
import type { Context } from 'aws-lambda';
import { cleanupRestore } from '../core/orchestration/restore-run.ts';
import { releaseRestoreSlot } from '../core/orchestration/restore-start.ts';
import { deps } from './shared/composition.ts';
import { handle } from './shared/handle.ts';
import { restoreTargets } from './shared/restore-composition.ts';
import { cleanupInput } from './shared/restore-schemas.ts';

export const handler = (event: unknown, context?: Context) =>
  handle('RestoreCleanup', cleanupInput, event, context, async ({ restoreId, account, target }) => {
    try {
      return await cleanupRestore(await restoreTargets(target, restoreId), restoreId, target);
    } finally {
      // The worker is terminated first thing: its slot is free even when a later delete is retried.
      await releaseRestoreSlot(deps().store, account, restoreId);
    }
  });
