// Lambda PruneSnapshots: applies snapshot retention (never a volume's base) and returns the item's result.
import type { Context } from 'aws-lambda';
import { z } from 'zod';
import type { ItemResult, ResourceItem } from '../core/orchestration/run-types.ts';
import { pruneResourceSnapshots } from '../core/orchestration/snapshot-retention.ts';
import { recordVolumeStates } from '../core/orchestration/volume-state.ts';
import { releaseWorkerSlot } from '../core/orchestration/worker-run.ts';
import { deps } from './shared/composition.ts';
import { handle } from './shared/handle.ts';
import { resourceItem, snapshotProgress } from './shared/schemas.ts';

const input = resourceItem.extend({ snapshots: snapshotProgress, worker: z.unknown().optional() });

export const handler = (event: unknown, context?: Context) =>
  handle('PruneSnapshots', input, event, context, async (item): Promise<ItemResult & { worker?: unknown }> => {
    const d = deps();
    const { snapshotter } = await d.member(item.run.roleArn, `cloudkeep-${item.run.sessionId}`);
    // A finished worker made these snapshots the volumes' new bases: record that before retention runs.
    const pointId = (item.worker as { pointId?: unknown } | undefined)?.pointId;
    if (typeof pointId === 'string') await recordVolumeStates(d.store, item.run.account, item.resource.region, item.snapshots.volumes ?? [], pointId);
    if (item.worker !== undefined) await releaseWorkerSlot(d.store, item as ResourceItem);
    const pruned = await pruneResourceSnapshots(snapshotter, d.store, item as ResourceItem, d.now());
    const { id, type, region } = item.resource;
    return { resource: { id, type, region }, status: 'succeeded', snapshotIds: item.snapshots.snapshotIds, deleted: pruned.deleted, worker: item.worker };
  });
