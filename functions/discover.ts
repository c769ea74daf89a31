// Lambda Discover: lists the policy's resources in the member account and plans one item per resource.
import type { Context } from 'aws-lambda';
import { discoverRun } from '../core/orchestration/run-steps.ts';
import { deps } from './shared/composition.ts';
import { handle } from './shared/handle.ts';
import { runRef } from './shared/schemas.ts';

export const handler = (event: unknown, context?: Context) =>
  handle('Discover', runRef.loose(), event, context, async (run) => {
    const d = deps();
    const { discovery } = await d.member(run.roleArn, `cloudkeep-${run.sessionId}`);
    return { items: await discoverRun(d.store, discovery, run, d.now()) };
  });
