// Lambda CopyInstanceSnapshots: for an instance restored into a member account, copies the shared restored snapshots there; called until they are completed.
import type { Context } from 'aws-lambda';
import { z } from 'zod';
import { copyInstanceSnapshots } from '../core/orchestration/restore-copies.ts';
import { handle } from './shared/handle.ts';
import { restoreTargets } from './shared/restore-composition.ts';
import { restoredPoint, restorePlan } from './shared/restore-schemas.ts';

const input = z.object({ restore: restorePlan, restored: restoredPoint });

export const handler = (event: unknown, context?: Context) =>
  handle('CopyInstanceSnapshots', input, event, context, async ({ restore, restored }) => copyInstanceSnapshots(await restoreTargets(restore.target, restore.restoreId), restore, restored));
