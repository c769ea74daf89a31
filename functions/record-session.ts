// Lambda RecordSession: finalizes every task from the Map's results and the session's status.
import type { Context } from 'aws-lambda';
import { z } from 'zod';
import type { ItemResult } from '../core/orchestration/run-types.ts';
import { finishSession, itemErrorText } from '../core/orchestration/session-bookkeeping.ts';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { METRICS_NAMESPACE, sessionMetrics } from '../core/orchestration/session-metrics.ts';
import { deps } from './shared/composition.ts';
import { handle } from './shared/handle.ts';
import { itemResult, runRef } from './shared/schemas.ts';

/** `failure` (a caught {Error, Cause}): the run failed before its resources were protected (FailSession). */
const input = z.object({ run: runRef.loose(), results: z.array(itemResult), failure: itemResult.shape.error });

const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: 'cloudkeep-orchestration' });

export const handler = (event: unknown, context?: Context) =>
  handle('RecordSession', input, event, context, async ({ run, results, failure }) => {
    const outcome = await finishSession(deps().store, run.account, run.sessionId, results as ItemResult[], failure === undefined ? undefined : `run failed: ${itemErrorText(failure)}`);
    // The failed-sessions alarm in infra/ watches this metric (CloudWatch embedded metric format).
    for (const m of sessionMetrics(outcome.status)) metrics.addMetric(m.name, MetricUnit.Count, m.value);
    metrics.publishStoredMetrics();
    return outcome;
  });
