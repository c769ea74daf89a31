// Snapshotter on EC2 and RDS: crash-consistent multi-volume instance snapshots, volume, DB and cluster snapshots.
import { CreateSnapshotCommand, CreateSnapshotsCommand, DeleteSnapshotCommand, DescribeSnapshotsCommand, EC2Client, paginateDescribeSnapshots, type Snapshot } from '@aws-sdk/client-ec2';
import {
  CreateDBClusterSnapshotCommand, CreateDBSnapshotCommand, DeleteDBClusterSnapshotCommand, DeleteDBSnapshotCommand, DescribeDBClusterSnapshotsCommand,
  DescribeDBSnapshotsCommand, RDSClient, type DBClusterSnapshot, type DBSnapshot,
} from '@aws-sdk/client-rds';
import type { MemberCredentials, SnapshotInfo, SnapshotStatus, Snapshotter, SnapshotTarget } from '../../core/orchestration/ports.ts';
import { awsCall, clientConfig, perRegion, tagList, tagMap, type AwsAdapterOptions } from './aws-call.ts';

function ec2Status(state: string | undefined): SnapshotStatus {
  return state === 'completed' ? 'completed' : state === 'error' ? 'error' : 'pending';
}

function rdsStatus(status: string | undefined): SnapshotStatus {
  if (status === 'available') return 'completed';
  return status === 'failed' || status === 'incompatible-restore' || status === 'deleted' ? 'error' : 'pending';
}

const fromEc2 = (s: Snapshot): SnapshotInfo => ({ id: s.SnapshotId ?? '', volumeId: s.VolumeId, ...(s.VolumeSize !== undefined ? { sizeGiB: s.VolumeSize } : {}), status: ec2Status(s.State), startTime: s.StartTime?.getTime() ?? 0, tags: tagMap(s.Tags) });
const fromDb = (s: DBSnapshot): SnapshotInfo => ({ id: s.DBSnapshotIdentifier ?? '', status: rdsStatus(s.Status), startTime: s.SnapshotCreateTime?.getTime() ?? Date.now(), tags: tagMap(s.TagList) });
const fromCluster = (s: DBClusterSnapshot): SnapshotInfo => ({ id: s.DBClusterSnapshotIdentifier ?? '', status: rdsStatus(s.Status), startTime: s.SnapshotCreateTime?.getTime() ?? Date.now(), tags: tagMap(s.TagList) });

const hasTags = (s: SnapshotInfo, tags: Record<string, string>) => Object.entries(tags).every(([k, v]) => s.tags[k] === v);

/** An RDS snapshot identifier: letters, digits and single hyphens, starting with a letter. */
function dbSnapshotId(resourceId: string, now: number): string {
  const clean = resourceId.replace(/[^A-Za-z0-9-]/g, '-').replace(/-+/g, '-').replace(/-$/, '');
  return `cloudkeep-${clean}-${now.toString(36)}`.slice(0, 255);
}

export class AwsSnapshotter implements Snapshotter {
  private readonly ec2: (region: string) => EC2Client;
  private readonly rds: (region: string) => RDSClient;
  private readonly now: () => number;

  constructor(credentials: MemberCredentials | undefined, options: AwsAdapterOptions = {}, now: () => number = Date.now) {
    this.now = now;
    this.ec2 = perRegion((region) => new EC2Client(clientConfig(region, credentials, options.endpoints?.ec2, options)));
    this.rds = perRegion((region) => new RDSClient(clientConfig(region, credentials, options.endpoints?.rds, options)));
  }

  async create(t: SnapshotTarget, tags: Record<string, string>): Promise<SnapshotInfo[]> {
    const what = `snapshot of ${t.id} in ${t.region}`;
    const description = `Cloudkeep ${tags['cloudkeep:policy'] ?? ''} ${t.id}`.trim();
    switch (t.type) {
      case 'ec2-instance': {
        const out = await awsCall(`CreateSnapshots (${what})`, () => this.ec2(t.region).send(new CreateSnapshotsCommand({
          InstanceSpecification: { InstanceId: t.id, ExcludeBootVolume: false },
          Description: description,
          TagSpecifications: [{ ResourceType: 'snapshot', Tags: tagList(tags) }],
        })));
        return (out.Snapshots ?? []).map((s) => ({ id: s.SnapshotId ?? '', volumeId: s.VolumeId, ...(s.VolumeSize !== undefined ? { sizeGiB: s.VolumeSize } : {}), status: ec2Status(s.State), startTime: s.StartTime?.getTime() ?? this.now(), tags }));
      }
      case 'ebs-volume': {
        const s = await awsCall(`CreateSnapshot (${what})`, () => this.ec2(t.region).send(new CreateSnapshotCommand({
          VolumeId: t.id, Description: description, TagSpecifications: [{ ResourceType: 'snapshot', Tags: tagList(tags) }],
        })));
        return [fromEc2(s)];
      }
      case 'rds-instance': {
        const out = await awsCall(`CreateDBSnapshot (${what})`, () => this.rds(t.region).send(new CreateDBSnapshotCommand({
          DBInstanceIdentifier: t.id, DBSnapshotIdentifier: dbSnapshotId(t.id, this.now()), Tags: tagList(tags),
        })));
        return out.DBSnapshot ? [fromDb(out.DBSnapshot)] : [];
      }
      case 'aurora-cluster': {
        const out = await awsCall(`CreateDBClusterSnapshot (${what})`, () => this.rds(t.region).send(new CreateDBClusterSnapshotCommand({
          DBClusterIdentifier: t.id, DBClusterSnapshotIdentifier: dbSnapshotId(t.id, this.now()), Tags: tagList(tags),
        })));
        return out.DBClusterSnapshot ? [fromCluster(out.DBClusterSnapshot)] : [];
      }
      default:
        throw new Error(`unsupported resource type ${t.type} on AWS`);
    }
  }

  async describe(t: SnapshotTarget, ids: readonly string[]): Promise<SnapshotInfo[]> {
    if (ids.length === 0) return [];
    if (t.type === 'ec2-instance' || t.type === 'ebs-volume') {
      const out = await awsCall(`DescribeSnapshots of ${t.id} in ${t.region}`, () => this.ec2(t.region).send(new DescribeSnapshotsCommand({ SnapshotIds: [...ids] })));
      return (out.Snapshots ?? []).map(fromEc2);
    }
    const found: SnapshotInfo[] = [];
    for (const id of ids) {
      if (t.type === 'rds-instance') {
        const out = await awsCall(`DescribeDBSnapshots ${id} in ${t.region}`, () => this.rds(t.region).send(new DescribeDBSnapshotsCommand({ DBSnapshotIdentifier: id })));
        found.push(...(out.DBSnapshots ?? []).map(fromDb));
      } else {
        const out = await awsCall(`DescribeDBClusterSnapshots ${id} in ${t.region}`, () => this.rds(t.region).send(new DescribeDBClusterSnapshotsCommand({ DBClusterSnapshotIdentifier: id })));
        found.push(...(out.DBClusterSnapshots ?? []).map(fromCluster));
      }
    }
    return found;
  }

  async list(t: SnapshotTarget, tags: Record<string, string>): Promise<SnapshotInfo[]> {
    if (t.type === 'ec2-instance' || t.type === 'ebs-volume') {
      const filters = Object.entries(tags).map(([k, v]) => ({ Name: `tag:${k}`, Values: [v] }));
      const out: SnapshotInfo[] = [];
      await awsCall(`DescribeSnapshots of ${t.id} in ${t.region}`, async () => {
        for await (const page of paginateDescribeSnapshots({ client: this.ec2(t.region) }, { OwnerIds: ['self'], Filters: filters })) out.push(...(page.Snapshots ?? []).map(fromEc2));
      });
      return out.filter((s) => hasTags(s, tags));
    }
    if (t.type === 'rds-instance') {
      const out = await awsCall(`DescribeDBSnapshots of ${t.id} in ${t.region}`, () => this.rds(t.region).send(new DescribeDBSnapshotsCommand({ DBInstanceIdentifier: t.id, SnapshotType: 'manual' })));
      return (out.DBSnapshots ?? []).map(fromDb).filter((s) => hasTags(s, tags));
    }
    const out = await awsCall(`DescribeDBClusterSnapshots of ${t.id} in ${t.region}`, () => this.rds(t.region).send(new DescribeDBClusterSnapshotsCommand({ DBClusterIdentifier: t.id, SnapshotType: 'manual' })));
    return (out.DBClusterSnapshots ?? []).map(fromCluster).filter((s) => hasTags(s, tags));
  }

  async delete(t: SnapshotTarget, id: string): Promise<void> {
    const what = `delete snapshot ${id} of ${t.id} in ${t.region}`;
    if (t.type === 'ec2-instance' || t.type === 'ebs-volume') await awsCall(what, () => this.ec2(t.region).send(new DeleteSnapshotCommand({ SnapshotId: id })));
    else if (t.type === 'rds-instance') await awsCall(what, () => this.rds(t.region).send(new DeleteDBSnapshotCommand({ DBSnapshotIdentifier: id })));
    else await awsCall(what, () => this.rds(t.region).send(new DeleteDBClusterSnapshotCommand({ DBClusterSnapshotIdentifier: id })));
  }
}
