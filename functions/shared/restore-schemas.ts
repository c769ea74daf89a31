// zod schemas of the restore state machine's payloads ($.restore, $.restored, $.volumes), shared by the restore handlers.
import { z } from 'zod';
import type { RestorePlan, RestoredPoint } from '../../core/orchestration/restore-types.ts';

const tags = z.record(z.string(), z.string());
const target = z.object({ region: z.string().min(1), roleArn: z.string().min(1).optional(), accountId: z.string().min(1).optional() });

export const restorePlan = z.object({
  restoreId: z.string().min(1), account: z.string().min(1), policyId: z.string().min(1), pointId: z.string().min(1),
  disks: z.array(z.string()).optional(), mode: z.enum(['snapshot', 'volume', 'instance']), target, owner: z.string().min(1),
  volume: z.object({ availabilityZone: z.string(), volumeType: z.string(), sizeGiB: z.number().optional(), iops: z.number().optional(), throughput: z.number().optional() }).optional(),
  instance: z.object({ instanceType: z.string().optional(), subnetId: z.string().optional(), securityGroupIds: z.array(z.string()).optional() }).optional(),
  tags,
}) satisfies z.ZodType<RestorePlan, unknown>;

/** The worker's SendTaskSuccess output (worker-image/task-restore.ts), the fields the later steps use. */
export const restoredPoint = z.object({
  pointId: z.string().min(1),
  snapshots: z.array(z.object({ disk: z.string(), snapshotId: z.string().min(1), sizeGiB: z.number().int().positive(), volumeId: z.string() })).min(1),
  resource: z.object({ id: z.string(), kind: z.string(), account: z.string().optional(), region: z.string().optional() }),
  tags,
}) satisfies z.ZodType<RestoredPoint, unknown>;

export const volumeProgress = z.object({ volumeIds: z.array(z.string().min(1)), available: z.boolean() });

/** CopyInstanceSnapshots' result ($.copies): restored snapshot id -> its copy in the target account. */
export const snapshotCopies = z.object({ copies: z.record(z.string(), z.string().min(1)), available: z.boolean() });

/** Where cleanup looks: from the state ($.restore) or from an aborted execution's event (its name and input). */
export const cleanupInput = z.union([
  z.object({ restoreId: z.string().min(1), account: z.string().min(1), target: target }),
  z.object({ restoreId: z.string().min(1), request: z.string().min(1) }).transform((e, ctx) => {
    try {
      const r = JSON.parse(e.request) as { account?: unknown; target?: unknown };
      return z.object({ restoreId: z.string(), account: z.string().min(1), target }).parse({ restoreId: e.restoreId, account: r.account, target: r.target });
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: `the aborted execution's input is not a restore request: ${(err as Error).message.slice(0, 200)}` });
      return z.NEVER;
    }
  }),
]);
