// Ports for the cloud calls the orchestration handlers make: discovery, snapshots, scripts, cross-account roles.
import type { ResourceType } from '../policy/vocabulary.ts';
import type { InstanceConfig } from './instance-config.ts';

/** Temporary credentials of the member-account role. */
export interface MemberCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  /** ms since the epoch. */
  expiration: number;
}

export interface RoleAssumer {
  /** STS AssumeRole into `roleArn` with `externalId`; `sessionName` shows in the member's CloudTrail. */
  assume(roleArn: string, sessionName: string): Promise<MemberCredentials>;
}

/** A resource discovery found in one region of a member account. */
export interface FoundResource {
  type: ResourceType;
  id: string;
  region: string;
  tags: Record<string, string>;
  /** EBS volumes of an instance, or the volume itself; empty for databases. */
  volumeIds: string[];
  /** An EC2 instance's launch configuration, recorded with its backups for whole-instance restores. */
  instance?: InstanceConfig;
}

export interface Discovery {
  /** Resources of `types` in `region`, with their tags. */
  list(region: string, types: readonly ResourceType[]): Promise<FoundResource[]>;
}

export type SnapshotStatus = 'pending' | 'completed' | 'error';

/** A snapshot Cloudkeep created (EC2 snapshot, RDS DB or cluster snapshot). */
export interface SnapshotInfo {
  id: string;
  /** The volume an EC2 snapshot is of; absent for database snapshots. */
  volumeId?: string;
  /** Size of the snapshot's volume (EC2 snapshots), in GiB. */
  sizeGiB?: number;
  status: SnapshotStatus;
  /** ms since the epoch. */
  startTime: number;
  tags: Record<string, string>;
}

export interface SnapshotTarget {
  type: ResourceType;
  id: string;
  region: string;
}

export interface Snapshotter {
  /**
   * Starts the snapshots of one resource: an EC2 instance gets one crash-consistent multi-volume
   * CreateSnapshots, a volume CreateSnapshot, RDS CreateDBSnapshot, Aurora CreateDBClusterSnapshot.
   * Every snapshot carries `tags`.
   */
  create(target: SnapshotTarget, tags: Record<string, string>): Promise<SnapshotInfo[]>;
  /** The current state of snapshots made by `create` for `target`. */
  describe(target: SnapshotTarget, ids: readonly string[]): Promise<SnapshotInfo[]>;
  /** Every snapshot of `target` carrying all of `tags` (Cloudkeep's own snapshots). */
  list(target: SnapshotTarget, tags: Record<string, string>): Promise<SnapshotInfo[]>;
  delete(target: SnapshotTarget, id: string): Promise<void>;
}

/** A script sent to one instance (SSM Run Command): AWS-RunShellScript on Linux, AWS-RunPowerShellScript on Windows. */
export interface ScriptCommand {
  instanceId: string;
  region: string;
  script: string;
  platform: 'linux' | 'windows';
  /** The script is not started after, and is stopped at, this many seconds. */
  timeoutSeconds: number;
  /** Shows with the command in the member account (e.g. the Cloudkeep session). */
  comment: string;
}

export interface ScriptResult {
  /** pending: not delivered or still running (also just after send, before the invocation exists). */
  status: 'pending' | 'success' | 'failed';
  /** The provider's own status, e.g. InProgress, Failed, TimedOut. */
  detail?: string;
  /** Standard error, else standard output, of a finished script (may be truncated by the provider). */
  output?: string;
}

/** VSS-consistent snapshots of every volume of a Windows instance, taken by the instance itself (SSM AWSEC2-CreateVssSnapshot). */
export interface VssSnapshotCommand {
  instanceId: string;
  region: string;
  /** Every snapshot carries these tags (how Cloudkeep finds them afterwards). */
  tags: Record<string, string>;
  description: string;
  /** The snapshot step is stopped at this many seconds. */
  timeoutSeconds: number;
  comment: string;
}

/** Runs pre/post snapshot scripts, and VSS snapshots, on instances. */
export interface ScriptRunner {
  send(command: ScriptCommand): Promise<{ commandId: string }>;
  /** Starts the VSS snapshot command; its outcome comes from `result` like a script's. */
  sendVssSnapshot(command: VssSnapshotCommand): Promise<{ commandId: string }>;
  result(region: string, commandId: string, instanceId: string): Promise<ScriptResult>;
}

/** Builds the adapters that act inside a member account with its role's credentials. */
export interface MemberAccountClients {
  discovery(credentials: MemberCredentials): Discovery;
  snapshotter(credentials: MemberCredentials): Snapshotter;
  /** Absent where instances take no scripts (the local mode). */
  scripts?(credentials: MemberCredentials): ScriptRunner;
}

/** Where the state machine's task token for a resource's worker is kept until the worker reports. */
export interface WorkerTokenStore {
  recordWorkerToken(account: string, sessionId: string, resourceId: string, token: string): Promise<void>;
}

/** The worker of one resource, as recorded with its task token. */
export interface WorkerRecord {
  token?: string;
  instanceId?: string;
}

export interface WorkerRecordStore extends WorkerTokenStore {
  /** Adds the launched instance's id to the resource's token item. */
  recordWorkerInstance(account: string, sessionId: string, resourceId: string, instanceId: string): Promise<void>;
  getWorker(account: string, sessionId: string, resourceId: string): Promise<WorkerRecord | undefined>;
}

/** What one worker instance is launched with (in the control-plane account). */
export interface WorkerLaunch {
  region: string;
  instanceType: string;
  subnetId: string;
  spot: boolean;
  /** The task document, base64-encoded as the instance's user data. */
  userData: string;
  tags: Record<string, string>;
  /** Idempotency token: a retried launch of the same worker starts no second instance. */
  clientToken: string;
}

/** Starts and stops worker instances from the worker launch template. */
export interface WorkerLauncher {
  launch(spec: WorkerLaunch): Promise<{ instanceId: string }>;
  /** Terminates the instance; one already gone is not an error. */
  terminate(region: string, instanceId: string): Promise<void>;
}
