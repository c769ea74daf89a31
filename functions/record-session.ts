// Lambda RecordSession: finalizes every task from the Map's results and the session's status.
import type { Context } from 'aws-lambda';
import { z } from 'zod';
import type { ItemResult } from '../core/orchestration/run-types.ts';
import { finishSession, itemErrorText } from '../core/orchestration/session-bookkeeping.ts';
import { deps } from './shared/composition.ts';
import { handle } from './shared/handle.ts';
import { itemResult, runRef } from './shared/schemas.ts';

/** `failure` (a caught {Error, Cause}): the run failed before its resources were protected (FailSession). */
const input = z.object({ run: runRef.loose(), results: z.array(itemResult), failure: itemResult.shape.error });

export const handler = (event: unknown, context?: Context) =>
  handle('RecordSession', input, event, context, ({ run, results, failure }) =>
    finishSession(deps().store, run.account, run.sessionId, results as ItemResult[], failure === undefined ? undefined : `run failed: ${itemErrorText(failure)}`));
