// Ports of the restore use-cases: the EC2 calls that turn restored snapshots into volumes and instances, and clean up.

export interface VolumeInfo {
  id: string;
  /** creating, available, in-use, error, deleting, ... */
  state: string;
  snapshotId?: string;
  sizeGiB?: number;
  availabilityZone?: string;
}

export interface NewVolume {
  region: string;
  availabilityZone: string;
  snapshotId: string;
  sizeGiB: number;
  volumeType: string;
  iops?: number;
  throughput?: number;
  tags: Record<string, string>;
  /** Idempotency token: a retried call creates no second volume. */
  clientToken: string;
}

export interface NewImage {
  region: string;
  name: string;
  architecture: string;
  rootDeviceName: string;
  rootSnapshotId: string;
  enaSupport: boolean;
  tags: Record<string, string>;
}

export interface NewInstance {
  region: string;
  imageId: string;
  instanceType: string;
  subnetId: string;
  securityGroupIds: string[];
  /** Every disk but the root one (the image carries the root). */
  blockDevices: Array<{ deviceName: string; snapshotId: string; sizeGiB: number; volumeType: string }>;
  tags: Record<string, string>;
  clientToken: string;
}

/** A copy into the target account of a snapshot shared with it. */
export interface NewSnapshotCopy {
  region: string;
  sourceSnapshotId: string;
  description: string;
  tags: Record<string, string>;
}

/** A snapshot this account owns, with its state (pending, completed, error) and tags. */
export interface OwnSnapshot {
  id: string;
  state: string;
  tags: Record<string, string>;
}

/** What a restore left in a region, found by its cloudkeep:restore tag. */
export interface TaggedResources {
  snapshots: string[];
  volumes: VolumeInfo[];
  instances: string[];
  images: string[];
}

/** EC2 in one account (the control plane's own, or a member account through its role). */
export interface RestoreTarget {
  createVolume(spec: NewVolume): Promise<VolumeInfo>;
  describeVolumes(region: string, ids: readonly string[]): Promise<VolumeInfo[]>;
  registerImage(spec: NewImage): Promise<string>;
  runInstance(spec: NewInstance): Promise<string>;
  /** Lets `accountId` create volumes from the snapshot (a restore into another account). */
  shareSnapshot(region: string, snapshotId: string, accountId: string): Promise<void>;
  /** Copies a snapshot shared with this account into it (tagged on creation); returns the copy's id. */
  copySnapshot(spec: NewSnapshotCopy): Promise<string>;
  /** This account's snapshots tagged key=value. */
  ownSnapshots(region: string, key: string, value: string): Promise<OwnSnapshot[]>;
  findTagged(region: string, key: string, value: string): Promise<TaggedResources>;
  /** Each delete treats "already gone" as done. */
  deleteSnapshot(region: string, id: string): Promise<void>;
  deleteVolume(region: string, id: string): Promise<void>;
  deregisterImage(region: string, id: string): Promise<void>;
  terminateInstance(region: string, id: string): Promise<void>;
}

/** The control plane's own EC2 (where workers write snapshots) and the target account's. */
export interface RestoreTargets {
  own: RestoreTarget;
  target: RestoreTarget;
}
