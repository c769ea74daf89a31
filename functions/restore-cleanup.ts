// Lambda RestoreCleanup: after a failed restore (the state machine's Catch) or a stopped/timed-out one (EventBridge),
// terminates the worker and deletes every instance, image, volume and snapshot tagged with the restore.
import type { Context } from 'aws-lambda';
import { cleanupRestore } from '../core/orchestration/restore-run.ts';
import { handle } from './shared/handle.ts';
import { restoreTargets } from './shared/restore-composition.ts';
import { cleanupInput } from './shared/restore-schemas.ts';

export const handler = (event: unknown, context?: Context) =>
  handle('RestoreCleanup', cleanupInput, event, context, async ({ restoreId, target }) => cleanupRestore(await restoreTargets(target, restoreId), restoreId, target));
