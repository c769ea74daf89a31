// zod schemas of the state machine's payloads, shared by the handlers.
import { z } from 'zod';
import { RESOURCE_TYPES } from '../../core/policy/vocabulary.ts';

export const runRef = z.object({
  account: z.string().min(1),
  policyId: z.string().min(1),
  sessionId: z.string().min(1),
  roleArn: z.string().min(1),
  maxConcurrency: z.number().int().min(1).optional(),
});

/** core/orchestration/instance-config.ts InstanceConfig: recorded with an instance's backups. */
export const instanceConfig = z.object({
  instanceType: z.string().min(1), subnetId: z.string().min(1), securityGroupIds: z.array(z.string()), availabilityZone: z.string().min(1),
  architecture: z.string().min(1), rootDeviceName: z.string().min(1), enaSupport: z.boolean(), devices: z.record(z.string(), z.string()),
  tags: z.record(z.string(), z.string()).optional(),
});

export const resourceItem = z.object({
  run: runRef,
  resource: z.object({ type: z.enum(RESOURCE_TYPES), id: z.string().min(1), region: z.string().min(1), tags: z.record(z.string(), z.string()), volumeIds: z.array(z.string()), instance: instanceConfig.optional() }),
  backupDue: z.boolean(),
  retention: z.record(z.string(), z.unknown()).optional(),
  tags: z.record(z.string(), z.string()),
  consistency: z.object({ preScript: z.string().min(1), postScript: z.string().min(1), platform: z.enum(['linux', 'windows']) }).optional(),
});

export const snapshotProgress = z.object({
  snapshotIds: z.array(z.string()),
  complete: z.boolean(),
  volumes: z.array(z.object({ snapshotId: z.string().min(1), volumeId: z.string().min(1), sizeGiB: z.number().nonnegative().optional() })).optional(),
});

export const itemResult = z.object({
  resource: z.object({ id: z.string().min(1), type: z.string().optional(), region: z.string().optional() }).loose(),
  status: z.enum(['succeeded', 'failed']),
  snapshotIds: z.array(z.string()).optional(),
  deleted: z.array(z.string()).optional(),
  error: z.union([z.string(), z.object({ Error: z.string().optional(), Cause: z.string().optional() })]).optional(),
}).loose();
