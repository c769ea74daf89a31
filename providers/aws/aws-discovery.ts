// Discovery on EC2 and RDS: instances with their volumes, volumes, DB instances and Aurora clusters, with tags.
import { EC2Client, paginateDescribeInstances, paginateDescribeVolumes, type Instance } from '@aws-sdk/client-ec2';
import type { InstanceConfig } from '../../core/orchestration/instance-config.ts';
import { paginateDescribeDBClusters, paginateDescribeDBInstances, RDSClient } from '@aws-sdk/client-rds';
import type { ResourceType } from '../../core/policy/vocabulary.ts';
import type { Discovery, FoundResource, MemberCredentials } from '../../core/orchestration/ports.ts';
import { awsCall, clientConfig, perRegion, tagMap, type AwsAdapterOptions } from './aws-call.ts';

async function collect<T>(pages: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const page of pages) out.push(page);
  return out;
}

/** What a whole-instance restore relaunches: type, network, architecture and each volume's device. */
function instanceConfigOf(i: Instance): InstanceConfig {
  return {
    instanceType: i.InstanceType as string,
    subnetId: i.SubnetId as string,
    securityGroupIds: (i.SecurityGroups ?? []).map((g) => g.GroupId).filter((g): g is string => Boolean(g)),
    availabilityZone: i.Placement?.AvailabilityZone as string,
    architecture: i.Architecture ?? 'x86_64',
    rootDeviceName: i.RootDeviceName as string,
    enaSupport: i.EnaSupport ?? false,
    devices: Object.fromEntries((i.BlockDeviceMappings ?? []).filter((m) => m.Ebs?.VolumeId && m.DeviceName).map((m) => [m.Ebs!.VolumeId!, m.DeviceName!])),
    tags: tagMap(i.Tags),
  };
}

export class AwsDiscovery implements Discovery {
  private readonly ec2: (region: string) => EC2Client;
  private readonly rds: (region: string) => RDSClient;

  constructor(credentials: MemberCredentials | undefined, options: AwsAdapterOptions = {}) {
    this.ec2 = perRegion((region) => new EC2Client(clientConfig(region, credentials, options.endpoints?.ec2, options)));
    this.rds = perRegion((region) => new RDSClient(clientConfig(region, credentials, options.endpoints?.rds, options)));
  }

  async list(region: string, types: readonly ResourceType[]): Promise<FoundResource[]> {
    const found: FoundResource[] = [];
    if (types.includes('ec2-instance')) found.push(...(await this.instances(region)));
    if (types.includes('ebs-volume')) found.push(...(await this.volumes(region)));
    if (types.includes('rds-instance')) found.push(...(await this.dbInstances(region)));
    if (types.includes('aurora-cluster')) found.push(...(await this.clusters(region)));
    return found;
  }

  private async instances(region: string): Promise<FoundResource[]> {
    const filter = [{ Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped'] }];
    const pages = await awsCall(`DescribeInstances in ${region}`, () => collect(paginateDescribeInstances({ client: this.ec2(region) }, { Filters: filter })));
    return pages.flatMap((p) => p.Reservations ?? []).flatMap((r) => r.Instances ?? []).filter((i) => i.InstanceId).map((i) => ({
      type: 'ec2-instance' as const,
      id: i.InstanceId as string,
      region,
      tags: tagMap(i.Tags),
      volumeIds: (i.BlockDeviceMappings ?? []).map((m) => m.Ebs?.VolumeId).filter((v): v is string => Boolean(v)),
      ...(i.InstanceType && i.SubnetId && i.Placement?.AvailabilityZone && i.RootDeviceName ? { instance: instanceConfigOf(i) } : {}),
    }));
  }

  private async volumes(region: string): Promise<FoundResource[]> {
    const pages = await awsCall(`DescribeVolumes in ${region}`, () => collect(paginateDescribeVolumes({ client: this.ec2(region) }, {})));
    return pages.flatMap((p) => p.Volumes ?? []).filter((v) => v.VolumeId).map((v) => ({
      type: 'ebs-volume' as const, id: v.VolumeId as string, region, tags: tagMap(v.Tags), volumeIds: [v.VolumeId as string],
    }));
  }

  private async dbInstances(region: string): Promise<FoundResource[]> {
    const pages = await awsCall(`DescribeDBInstances in ${region}`, () => collect(paginateDescribeDBInstances({ client: this.rds(region) }, {})));
    // Aurora members are snapshotted through their cluster.
    return pages.flatMap((p) => p.DBInstances ?? []).filter((d) => d.DBInstanceIdentifier && !d.DBClusterIdentifier).map((d) => ({
      type: 'rds-instance' as const, id: d.DBInstanceIdentifier as string, region, tags: tagMap(d.TagList), volumeIds: [],
    }));
  }

  private async clusters(region: string): Promise<FoundResource[]> {
    const pages = await awsCall(`DescribeDBClusters in ${region}`, () => collect(paginateDescribeDBClusters({ client: this.rds(region) }, {})));
    return pages.flatMap((p) => p.DBClusters ?? []).filter((c) => c.DBClusterIdentifier && c.Engine?.startsWith('aurora')).map((c) => ({
      type: 'aurora-cluster' as const, id: c.DBClusterIdentifier as string, region, tags: tagMap(c.TagList), volumeIds: [],
    }));
  }
}
