// Lambda LoadPolicy: validates the run input, loads the policy and opens the backup session.
import type { Context } from 'aws-lambda';
import { z } from 'zod';
import { beginRun, DEFAULT_MAX_CONCURRENCY } from '../core/orchestration/run-steps.ts';
import { deps } from './shared/composition.ts';
import { handle } from './shared/handle.ts';

const input = z.object({
  account: z.string().min(1),
  policyId: z.string().min(1),
  maxConcurrency: z.number().int().min(1).max(40).default(DEFAULT_MAX_CONCURRENCY),
});

export const handler = (event: unknown, context?: Context) =>
  handle('LoadPolicy', input, event, context, ({ account, policyId, maxConcurrency }) => beginRun(deps().store, account, policyId, maxConcurrency));
