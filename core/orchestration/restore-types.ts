// The restore state machine's request and plan: which point, which disks, where, and what to make of the restored snapshots.
import { z } from 'zod';
import { AWS_REGION } from '../policy/vocabulary.ts';

const tags = z.record(z.string().min(1).max(128), z.string().max(256));
const roleArn = z.string().regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/.+$/, 'expected an IAM role ARN (arn:aws:iam::<account>:role/<name>)');

export const RestoreRequestSchema = z.strictObject({
  /** The tenant (control-store account) asking; it must own the policy and the restore point. */
  account: z.string().min(1),
  /** The policy that backed the point up: its repository, worker subnets and member role. */
  policyId: z.string().min(1),
  pointId: z.string().min(1).max(1024),
  /** Disks of the point to restore; default every disk. */
  disks: z.array(z.string().min(1)).min(1).optional(),
  target: z.strictObject({
    region: z.string().regex(AWS_REGION, 'expected an AWS region such as eu-west-1'),
    /** A member account's Cloudkeep role (one of the tenant's policies' roles); default the control plane's own account. */
    roleArn: roleArn.optional(),
  }),
  /** Make a volume of each restored snapshot. */
  volume: z.strictObject({
    availabilityZone: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d+[a-z]$/, 'expected an availability zone such as eu-west-1a'),
    volumeType: z.enum(['gp3', 'gp2', 'io1', 'io2', 'st1', 'sc1', 'standard']).default('gp3'),
    /** At least each disk's size; default the disk's size. */
    sizeGiB: z.number().int().positive().max(65_536).optional(),
    iops: z.number().int().positive().optional(),
    throughput: z.number().int().positive().optional(),
  }).optional(),
  /** Relaunch the whole instance with its recorded configuration; these override it. */
  instance: z.strictObject({
    instanceType: z.string().min(1).optional(),
    subnetId: z.string().regex(/^subnet-[0-9a-f]+$/, 'expected a subnet id').optional(),
    securityGroupIds: z.array(z.string().regex(/^sg-[0-9a-f]+$/, 'expected a security group id')).min(1).optional(),
  }).optional(),
  /** Tags of everything the restore creates. */
  tags: tags.default({}),
});
export type RestoreRequest = z.input<typeof RestoreRequestSchema>;

export type RestoreMode = 'snapshot' | 'volume' | 'instance';

/** Where a restore's resources go: a region of the control plane's account or of a member account (roleArn). */
export interface RestoreTargetRef {
  region: string;
  roleArn?: string;
}

/** The validated restore, passed between the states as $.restore. */
export interface RestorePlan {
  /** The execution's name: every resource the restore creates carries it in RESTORE_TAG. */
  restoreId: string;
  account: string;
  policyId: string;
  pointId: string;
  disks?: string[];
  mode: RestoreMode;
  target: RestoreTargetRef & { accountId?: string };
  /** The AWS account of the policy: the only account whose points this restore may read. */
  owner: string;
  volume?: { availabilityZone: string; volumeType: string; sizeGiB?: number; iops?: number; throughput?: number };
  instance?: { instanceType?: string; subnetId?: string; securityGroupIds?: string[] };
  tags: Record<string, string>;
}

/** One disk the worker restored into a new snapshot (worker-image/task-restore.ts RestoredDisk). */
export interface RestoredSnapshot {
  disk: string;
  snapshotId: string;
  sizeGiB: number;
  volumeId: string;
}

/** The worker's report ($.restored): the new snapshots, the backed-up resource, the point's tags. */
export interface RestoredPoint {
  pointId: string;
  snapshots: RestoredSnapshot[];
  resource: { id: string; kind: string; account?: string; region?: string };
  tags: Record<string, string>;
}

/** Tag on every snapshot, volume, image and instance a restore creates; cleanup finds them by it. */
export const RESTORE_TAG = 'cloudkeep:restore';
