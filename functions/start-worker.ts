// Lambda StartWorker (.waitForTaskToken): records the task token; launching the EC2 worker comes next (stub).
import type { Context } from 'aws-lambda';
import { z } from 'zod';
import type { ResourceItem } from '../core/orchestration/run-types.ts';
import { awaitWorker } from '../core/orchestration/run-steps.ts';
import { deps } from './shared/composition.ts';
import { handle } from './shared/handle.ts';
import { resourceItem } from './shared/schemas.ts';

const input = z.object({ taskToken: z.string().min(1), item: resourceItem.loose() });

/** Returns at once; the state stays open until the worker calls SendTaskSuccess/Failure with the token. */
export const handler = (event: unknown, context?: Context) =>
  handle('StartWorker', input, event, context, ({ taskToken, item }) => awaitWorker(deps().workerTokens, item as ResourceItem, taskToken));
