// Lambda StartRestoreWorker (.waitForTaskToken): launches the worker that restores the point's disks into new EBS snapshots.
import type { Context } from 'aws-lambda';
import { z } from 'zod';
import { launchRestoreWorker } from '../core/orchestration/restore-start.ts';
import { deps } from './shared/composition.ts';
import { handle } from './shared/handle.ts';
import { restorePlan } from './shared/restore-schemas.ts';

const input = z.object({ taskToken: z.string().min(1), restore: restorePlan });

/** Returns once the instance runs; the state stays open until the worker reports with the token. */
export const handler = (event: unknown, context?: Context) =>
  handle('StartRestoreWorker', input, event, context, ({ taskToken, restore }) => {
    const d = deps();
    return launchRestoreWorker(d.store, d.launcher(), restore, taskToken, d.workerSettings());
  });
