// Ports the API's handlers call besides the control store and the repository: what exists in an
// account, running a policy now, and the snapshots Cloudkeep made. The local control plane
// (cli/) and the AWS deployment (functions/) each provide adapters.
import type { RestoreResult } from '../../core/engine/restore.ts';
import type { SnapshotInfo, SnapshotTarget } from '../../core/orchestration/ports.ts';
import type { DiscoveredResource } from '../../core/policy/plan.ts';

/** The resources of an account in every region the deployment covers (plans, dashboard, unprotected resources). */
export interface Inventory {
  resources(account: string): Promise<DiscoveredResource[]>;
}

/** Starts one run of a stored policy now; resolves once its session exists (the run goes on in the background). */
export interface PolicyRunner {
  runNow(account: string, policyId: string): Promise<{ sessionId: string }>;
}

/** The snapshots Cloudkeep made of a resource (the restore-points timeline shows them next to restore points). */
export interface SnapshotCatalog {
  list(account: string, target: SnapshotTarget): Promise<SnapshotInfo[]>;
}

export type SessionLogLevel = 'info' | 'warn' | 'error';

/** One event of a backup session: started, discovered N, snapshot taken, worker started, backup committed/failed, finished. */
export interface SessionLogEntry {
  /** ms since the epoch. */
  time: number;
  level: SessionLogLevel;
  resourceId?: string;
  message: string;
}

/** The events of backup sessions, written by whoever runs them (adapters: session-log.ts). */
export interface SessionLog {
  append(account: string, sessionId: string, entry: SessionLogEntry): Promise<void>;
  /** The session's entries in the order appended; empty when it has none. */
  list(account: string, sessionId: string): Promise<SessionLogEntry[]>;
}

/** The outcome of the last `verify` of the repository. */
export interface VerifyRecord {
  /** ms since the epoch. */
  at: number;
  ok: boolean;
  problems: Array<{ key: string; problem: string }>;
}

/** Where the last verify of the repository is recorded, if anywhere. */
export interface VerifyHistory {
  last(): Promise<VerifyRecord | null>;
}

export type RestoreStatus = 'running' | 'succeeded' | 'failed' | 'cancelled';

/** image: a disk into a file under the local server's restore directory; the others: through the AWS restore state machine. */
export const RESTORE_KINDS = ['image', 'snapshot', 'ebs-volume', 'instance'] as const;
export type RestoreKind = (typeof RESTORE_KINDS)[number];
export type AwsRestoreKind = Exclude<RestoreKind, 'image'>;

/** What a finished image restore reports: the engine's result plus the restored image's digest. */
export interface RestoreJobResult extends RestoreResult {
  /** Hex SHA-256 of the restored image file. */
  sha256: string;
}

/** What a finished AWS restore made, in `region`. */
export interface AwsRestoreResult {
  region: string;
  snapshots: Array<{ disk: string; snapshotId: string }>;
  volumes?: Array<{ disk: string; volumeId: string; availabilityZone: string }>;
  instanceId?: string;
  imageId?: string;
}

interface RestoreJobBase {
  id: string;
  account: string;
  pointId: string;
  status: RestoreStatus;
  bytesDone: number;
  bytesTotal: number;
  error: string | null;
  /** ms since the epoch. */
  createdAt: number;
  endedAt: number | null;
}

export interface ImageRestoreJob extends RestoreJobBase {
  kind: 'image';
  disk: string;
  /** Relative to the server's restore directory. */
  targetPath: string;
  result: RestoreJobResult | null;
}

export interface AwsRestoreJob extends RestoreJobBase {
  kind: AwsRestoreKind;
  /** The disks asked for; null: every disk of the point. */
  disks: string[] | null;
  target: { region: string; roleArn?: string };
  result: AwsRestoreResult | null;
}

/** Narrow on `kind` before reading the kind's fields. */
export type RestoreJob = ImageRestoreJob | AwsRestoreJob;

export interface ImageRestoreRequest {
  kind: 'image';
  pointId: string;
  disk: string;
  targetPath: string;
}

/** The AWS kinds' request (the restore state machine's, less account and policyId, which the server derives). */
export interface AwsRestoreRequest {
  kind: AwsRestoreKind;
  pointId: string;
  disks?: string[];
  target: { region: string; roleArn?: string };
  volume?: { availabilityZone: string; volumeType?: string; sizeGiB?: number; iops?: number; throughput?: number };
  instance?: { instanceType?: string; subnetId?: string; securityGroupIds?: string[] };
}

export type RestoreRequest = ImageRestoreRequest | AwsRestoreRequest;

/** Restores the server runs (local mode: LocalRestoreJobs, image; AWS: SfnRestoreService, the AWS kinds). */
export interface RestoreService {
  /** The kinds `start` accepts. */
  readonly kinds: readonly RestoreKind[];
  /** Starts a restore of one of `kinds`. */
  start(account: string, req: RestoreRequest): Promise<RestoreJob>;
  /** NotFoundError for an id of another account or none. */
  get(account: string, id: string): RestoreJob | Promise<RestoreJob>;
  /** The account's restores, newest first. */
  list(account: string): RestoreJob[] | Promise<RestoreJob[]>;
  /** Stops a running restore (and removes what it made); resolves with the cancelled job. */
  cancel(account: string, id: string): Promise<RestoreJob>;
}
