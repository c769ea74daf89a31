// Lambda CreateRestoredVolumes: one volume per restored snapshot in the requested zone (shared first across accounts).
import type { Context } from 'aws-lambda';
import { z } from 'zod';
import { createVolumes } from '../core/orchestration/restore-run.ts';
import { handle } from './shared/handle.ts';
import { restoreTargets } from './shared/restore-composition.ts';
import { restoredPoint, restorePlan } from './shared/restore-schemas.ts';

const input = z.object({ restore: restorePlan, restored: restoredPoint });

export const handler = (event: unknown, context?: Context) =>
  handle('CreateRestoredVolumes', input, event, context, async ({ restore, restored }) => createVolumes(await restoreTargets(restore.target, restore.restoreId), restore, restored));
