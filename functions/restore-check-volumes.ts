// Lambda CheckRestoredVolumes: whether every restored volume is available; fails when one ended in error.
import type { Context } from 'aws-lambda';
import { z } from 'zod';
import { checkVolumes } from '../core/orchestration/restore-run.ts';
import { handle } from './shared/handle.ts';
import { restoreTargets } from './shared/restore-composition.ts';
import { restorePlan, volumeProgress } from './shared/restore-schemas.ts';

const input = z.object({ restore: restorePlan, volumes: volumeProgress });

export const handler = (event: unknown, context?: Context) =>
  handle('CheckRestoredVolumes', input, event, context, async ({ restore, volumes }) => checkVolumes(await restoreTargets(restore.target, restore.restoreId), restore, volumes.volumeIds));
