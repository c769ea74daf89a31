// Lambda TakeSnapshots: marks the resource's task running and starts its snapshots (crash-consistent, or between an instance's pre/post scripts).
import type { Context } from 'aws-lambda';
import type { ResourceItem } from '../core/orchestration/run-types.ts';
import { startResource } from '../core/orchestration/run-steps.ts';
import { deps } from './shared/composition.ts';
import { handle } from './shared/handle.ts';
import { resourceItem } from './shared/schemas.ts';

export const handler = (event: unknown, context?: Context) =>
  handle('TakeSnapshots', resourceItem, event, context, async (item) => {
    const d = deps();
    const { snapshotter, scripts } = await d.member(item.run.roleArn, `cloudkeep-${item.run.sessionId}`);
    return startResource(d.store, snapshotter, item as ResourceItem, scripts);
  });
