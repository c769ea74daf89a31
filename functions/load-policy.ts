// Lambda LoadPolicy: validates the run input, loads the policy and opens the backup session (or takes over the
// session the API's run now opened); a scheduled run of a disabled policy is skipped ($.run.skipped).
import type { Context } from 'aws-lambda';
import { z } from 'zod';
import { beginRunUnlessDisabled, DEFAULT_MAX_CONCURRENCY } from '../core/orchestration/run-steps.ts';
import { deps } from './shared/composition.ts';
import { handle } from './shared/handle.ts';

const input = z.object({
  account: z.string().min(1),
  policyId: z.string().min(1),
  maxConcurrency: z.number().int().min(1).max(40).default(DEFAULT_MAX_CONCURRENCY),
  /** Set by run now (functions/api/aws-policy-runner.ts): the session already exists; absent for scheduled runs. */
  sessionId: z.string().min(1).optional(),
});

export const handler = (event: unknown, context?: Context) =>
  handle('LoadPolicy', input, event, context, ({ account, policyId, maxConcurrency, sessionId }) => beginRunUnlessDisabled(deps().store, account, policyId, maxConcurrency, sessionId));
