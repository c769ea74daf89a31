// Lambda RunRestoredInstance: registers an image of the restored root disk (or its copy in a member account) and relaunches the instance as it was recorded.
import type { Context } from 'aws-lambda';
import { z } from 'zod';
import { runRestoredInstance } from '../core/orchestration/restore-run.ts';
import { handle } from './shared/handle.ts';
import { restoreTargets } from './shared/restore-composition.ts';
import { restoredPoint, restorePlan, snapshotCopies } from './shared/restore-schemas.ts';

const input = z.object({ restore: restorePlan, restored: restoredPoint, copies: snapshotCopies.optional() });

export const handler = (event: unknown, context?: Context) =>
  handle('RunRestoredInstance', input, event, context, async ({ restore, restored, copies }) =>
    runRestoredInstance(await restoreTargets(restore.target, restore.restoreId), restore, restored, copies?.copies));
