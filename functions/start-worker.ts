// Lambda StartWorker (.waitForTaskToken): records the task token and launches the EC2 worker with its task document.
import type { Context } from 'aws-lambda';
import { z } from 'zod';
import type { ResourceItem } from '../core/orchestration/run-types.ts';
import { launchWorker } from '../core/orchestration/worker-run.ts';
import { deps } from './shared/composition.ts';
import { handle } from './shared/handle.ts';
import { resourceItem, snapshotProgress } from './shared/schemas.ts';

const input = z.object({ taskToken: z.string().min(1), item: resourceItem.extend({ snapshots: snapshotProgress }).loose() });

/** Returns once the instance is launched; the state stays open until the worker calls SendTaskSuccess/Failure with the token. */
export const handler = (event: unknown, context?: Context) =>
  handle('StartWorker', input, event, context, ({ taskToken, item }) => {
    const d = deps();
    return launchWorker(d.store, d.workerTokens, d.launcher(), item as ResourceItem, item.snapshots.volumes ?? [], taskToken, d.workerSettings());
  });
