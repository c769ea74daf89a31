// RestoreTarget on EC2: volumes and instances from restored snapshots, image registration, sharing and copies, tag-based cleanup.
import {
  CopySnapshotCommand, CreateVolumeCommand, DeleteSnapshotCommand, DeleteVolumeCommand, DeregisterImageCommand, DescribeImagesCommand, DescribeInstancesCommand,
  DescribeSnapshotsCommand, DescribeVolumesCommand, EC2Client, ModifySnapshotAttributeCommand, RegisterImageCommand, RunInstancesCommand,
  TerminateInstancesCommand, type Volume,
} from '@aws-sdk/client-ec2';
import { CloudCallError } from '../../core/orchestration/errors.ts';
import type { MemberCredentials } from '../../core/orchestration/ports.ts';
import type { NewImage, NewInstance, NewSnapshotCopy, NewVolume, OwnSnapshot, RestoreTarget, TaggedResources, VolumeInfo } from '../../core/orchestration/restore-ports.ts';
import { awsCall, clientConfig, perRegion, tagList, tagMap, type AwsAdapterOptions } from './aws-call.ts';

const volumeInfo = (v: Volume): VolumeInfo => ({
  id: v.VolumeId as string, state: v.State ?? 'unknown',
  ...(v.SnapshotId ? { snapshotId: v.SnapshotId } : {}), ...(v.Size !== undefined ? { sizeGiB: v.Size } : {}), ...(v.AvailabilityZone ? { availabilityZone: v.AvailabilityZone } : {}),
});

/** Treats "already gone" answers of a delete as success. */
async function gone(what: string, pattern: RegExp, call: () => Promise<unknown>): Promise<void> {
  try {
    await awsCall(what, call);
  } catch (err) {
    if (pattern.test((err as Error).message)) return;
    throw err;
  }
}

export class AwsRestoreTarget implements RestoreTarget {
  private readonly ec2: (region: string) => EC2Client;

  /** Without credentials: the handler's own account (the control plane, where workers write snapshots). */
  constructor(credentials: MemberCredentials | undefined, options: AwsAdapterOptions = {}) {
    this.ec2 = perRegion((region) => new EC2Client(clientConfig(region, credentials, options.endpoints?.ec2, options)));
  }

  async createVolume(spec: NewVolume): Promise<VolumeInfo> {
    const out = await awsCall(`CreateVolume from ${spec.snapshotId} in ${spec.availabilityZone}`, () => this.ec2(spec.region).send(new CreateVolumeCommand({
      AvailabilityZone: spec.availabilityZone, SnapshotId: spec.snapshotId, Size: spec.sizeGiB, VolumeType: spec.volumeType as never,
      Iops: spec.iops, Throughput: spec.throughput, ClientToken: spec.clientToken,
      TagSpecifications: [{ ResourceType: 'volume', Tags: tagList(spec.tags) }],
    })));
    if (!out.VolumeId) throw new CloudCallError(`CreateVolume from ${spec.snapshotId} returned no volume`, { retryable: false });
    return volumeInfo(out);
  }

  async describeVolumes(region: string, ids: readonly string[]): Promise<VolumeInfo[]> {
    const out = await awsCall(`DescribeVolumes ${ids.join(', ')} in ${region}`, () => this.ec2(region).send(new DescribeVolumesCommand({ VolumeIds: [...ids] })));
    return (out.Volumes ?? []).filter((v) => v.VolumeId).map(volumeInfo);
  }

  async registerImage(spec: NewImage): Promise<string> {
    const out = await awsCall(`RegisterImage from ${spec.rootSnapshotId} in ${spec.region}`, () => this.ec2(spec.region).send(new RegisterImageCommand({
      Name: spec.name, Architecture: spec.architecture as never, RootDeviceName: spec.rootDeviceName, VirtualizationType: 'hvm', EnaSupport: spec.enaSupport,
      BlockDeviceMappings: [{ DeviceName: spec.rootDeviceName, Ebs: { SnapshotId: spec.rootSnapshotId, DeleteOnTermination: true } }],
      TagSpecifications: [{ ResourceType: 'image', Tags: tagList(spec.tags) }],
    })));
    if (!out.ImageId) throw new CloudCallError(`RegisterImage from ${spec.rootSnapshotId} returned no image`, { retryable: false });
    return out.ImageId;
  }

  async runInstance(spec: NewInstance): Promise<string> {
    const tags = tagList(spec.tags);
    const out = await awsCall(`RunInstances (restore ${spec.instanceType} in ${spec.subnetId}, ${spec.region})`, () => this.ec2(spec.region).send(new RunInstancesCommand({
      ImageId: spec.imageId, InstanceType: spec.instanceType as never, SubnetId: spec.subnetId, SecurityGroupIds: spec.securityGroupIds, MinCount: 1, MaxCount: 1,
      ClientToken: spec.clientToken,
      BlockDeviceMappings: spec.blockDevices.map((d) => ({ DeviceName: d.deviceName, Ebs: { SnapshotId: d.snapshotId, VolumeSize: d.sizeGiB, VolumeType: d.volumeType as never, DeleteOnTermination: true } })),
      TagSpecifications: [{ ResourceType: 'instance', Tags: tags }, { ResourceType: 'volume', Tags: tags }],
    })));
    const id = out.Instances?.[0]?.InstanceId;
    if (!id) throw new CloudCallError(`RunInstances in ${spec.region} returned no instance`, { retryable: false });
    return id;
  }

  async shareSnapshot(region: string, snapshotId: string, accountId: string): Promise<void> {
    await awsCall(`ModifySnapshotAttribute ${snapshotId} (share with ${accountId})`, () => this.ec2(region).send(new ModifySnapshotAttributeCommand({
      SnapshotId: snapshotId, Attribute: 'createVolumePermission', OperationType: 'add', UserIds: [accountId],
    })));
  }

  async copySnapshot(spec: NewSnapshotCopy): Promise<string> {
    const out = await awsCall(`CopySnapshot ${spec.sourceSnapshotId} in ${spec.region}`, () => this.ec2(spec.region).send(new CopySnapshotCommand({
      SourceSnapshotId: spec.sourceSnapshotId, SourceRegion: spec.region, Description: spec.description,
      TagSpecifications: [{ ResourceType: 'snapshot', Tags: tagList(spec.tags) }],
    })));
    if (!out.SnapshotId) throw new CloudCallError(`CopySnapshot ${spec.sourceSnapshotId} returned no snapshot`, { retryable: false });
    return out.SnapshotId;
  }

  async ownSnapshots(region: string, key: string, value: string): Promise<OwnSnapshot[]> {
    const out = await awsCall(`DescribeSnapshots tagged ${key} in ${region}`, () => this.ec2(region).send(new DescribeSnapshotsCommand({ OwnerIds: ['self'], Filters: [{ Name: `tag:${key}`, Values: [value] }] })));
    return (out.Snapshots ?? []).filter((s) => s.SnapshotId).map((s) => ({ id: s.SnapshotId as string, state: s.State ?? 'unknown', tags: tagMap(s.Tags) }));
  }

  async findTagged(region: string, key: string, value: string): Promise<TaggedResources> {
    const Filters = [{ Name: `tag:${key}`, Values: [value] }];
    const c = this.ec2(region);
    const [snaps, vols, instances, images] = await Promise.all([
      this.ownSnapshots(region, key, value),
      awsCall(`DescribeVolumes tagged ${key} in ${region}`, () => c.send(new DescribeVolumesCommand({ Filters }))),
      awsCall(`DescribeInstances tagged ${key} in ${region}`, () => c.send(new DescribeInstancesCommand({ Filters: [...Filters, { Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped'] }] }))),
      awsCall(`DescribeImages tagged ${key} in ${region}`, () => c.send(new DescribeImagesCommand({ Owners: ['self'], Filters }))),
    ]);
    return {
      snapshots: snaps.map((s) => s.id),
      volumes: (vols.Volumes ?? []).filter((v) => v.VolumeId).map(volumeInfo),
      instances: (instances.Reservations ?? []).flatMap((r) => r.Instances ?? []).map((i) => i.InstanceId).filter((i): i is string => Boolean(i)),
      images: (images.Images ?? []).map((i) => i.ImageId).filter((i): i is string => Boolean(i)),
    };
  }

  deleteSnapshot(region: string, id: string): Promise<void> {
    return gone(`DeleteSnapshot ${id} in ${region}`, /InvalidSnapshot\.NotFound/, () => this.ec2(region).send(new DeleteSnapshotCommand({ SnapshotId: id })));
  }

  deleteVolume(region: string, id: string): Promise<void> {
    return gone(`DeleteVolume ${id} in ${region}`, /InvalidVolume\.NotFound/, () => this.ec2(region).send(new DeleteVolumeCommand({ VolumeId: id })));
  }

  deregisterImage(region: string, id: string): Promise<void> {
    return gone(`DeregisterImage ${id} in ${region}`, /InvalidAMIID\.(NotFound|Unavailable)/, () => this.ec2(region).send(new DeregisterImageCommand({ ImageId: id })));
  }

  terminateInstance(region: string, id: string): Promise<void> {
    return gone(`TerminateInstances ${id} in ${region}`, /InvalidInstanceID\.NotFound/, () => this.ec2(region).send(new TerminateInstancesCommand({ InstanceIds: [id] })));
  }
}
