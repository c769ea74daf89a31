// The data passed between the orchestration states: the run, one resource item, one item result.
import type { RetentionPolicy } from '../retention/retention-policy.ts';
import type { FoundResource } from './ports.ts';

/** Identifies one execution: whose policy, which session, which member-account role. */
export interface RunRef {
  account: string;
  policyId: string;
  sessionId: string;
  roleArn: string;
  /** Resources handled at once (the Map's MaxConcurrency): workers split the account's EBS read quota by it. */
  maxConcurrency?: number;
}

/** One selected resource, self-contained so every per-item state needs no policy read. */
export interface ResourceItem {
  run: RunRef;
  resource: FoundResource;
  /** An image-level backup (worker) is due for this resource in this run. */
  backupDue: boolean;
  /** The policy's snapshot retention; absent when the policy keeps no snapshots of its own. */
  retention?: RetentionPolicy;
  /** Tags every snapshot of this run carries. */
  tags: Record<string, string>;
  /** Pre/post scripts around an EC2 instance's snapshots (policy consistency.application); absent: crash-consistent. */
  consistency?: ApplicationConsistency;
}

/** The scripts of an application-consistent instance snapshot and the platform they run on. */
export interface ApplicationConsistency {
  preScript: string;
  postScript: string;
  /** windows (the policy's windowsVss): PowerShell; linux: shell. */
  platform: 'linux' | 'windows';
}

/** What the Map records per resource; `error` is set when the resource failed. */
export interface ItemResult {
  resource: { id: string; type?: string; region?: string };
  status: 'succeeded' | 'failed';
  snapshotIds?: string[];
  deleted?: string[];
  error?: { Error?: string; Cause?: string } | string;
}

/** Tag keys Cloudkeep puts on its snapshots (the managed tag matches infra/tags.ts). */
export const SNAPSHOT_TAGS = {
  managed: 'cloudkeep:managed',
  managedValue: 'true',
  policy: 'cloudkeep:policy',
  resource: 'cloudkeep:resource',
  session: 'cloudkeep:session',
} as const;
