// The AWS restore forms' values, their checks (messages shown next to the fields) and the request body of the API contract.
import type { RestoreKind } from './restore-kinds.ts';

export type AwsKind = Exclude<RestoreKind, 'image'>;

/** What the form holds: text as typed. */
export interface AwsRestoreValues {
  region: string;
  roleArn: string;
  availabilityZone: string;
  volumeType: string;
  sizeGiB: string;
  iops: string;
  throughput: string;
  instanceType: string;
  subnetId: string;
  securityGroupIds: string;
}

export type FieldErrors = Partial<Record<keyof AwsRestoreValues, string>>;

export const VOLUME_TYPES = ['gp3', 'gp2', 'io2', 'io1', 'st1', 'sc1', 'standard'];

/** IOPS ranges of the volume types that take an IOPS setting. */
const IOPS: Record<string, [number, number]> = { gp3: [3000, 80000], io1: [100, 64000], io2: [100, 256000] };
const THROUGHPUT: [number, number] = [125, 2000];

export function defaultValues(region: string): AwsRestoreValues {
  return { region, roleArn: '', availabilityZone: '', volumeType: 'gp3', sizeGiB: '', iops: '', throughput: '', instanceType: '', subnetId: '', securityGroupIds: '' };
}

export interface AwsRestoreBody {
  kind: AwsKind;
  pointId: string;
  disks?: string[];
  target: { region: string; roleArn?: string };
  volume?: { availabilityZone: string; volumeType: string; sizeGiB?: number; iops?: number; throughput?: number };
  instance?: { instanceType?: string; subnetId?: string; securityGroupIds?: string[] };
}

const REGION = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;
const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/;
const INSTANCE_TYPE = /^[a-z][a-z0-9-]*\.[a-z0-9-]+$/;
const SUBNET = /^subnet-([0-9a-f]{8}|[0-9a-f]{17})$/;
const SECURITY_GROUP = /^sg-([0-9a-f]{8}|[0-9a-f]{17})$/;

/** An optional whole number in [min, max]: undefined when empty, else the number or an error. */
function whole(text: string, min: number, max: number, what: string): number | string | undefined {
  if (text.trim() === '') return undefined;
  const n = Number(text.trim());
  if (!Number.isInteger(n) || n < min || n > max) return `${what} ${JSON.stringify(text.trim())}: expected a whole number from ${min} to ${max}`;
  return n;
}

/** The smallest volume (GiB) that holds a disk of `bytes`. */
export function minSizeGiB(bytes: number): number {
  return Math.max(1, Math.ceil(bytes / 2 ** 30));
}

/** Checks the values for a kind; the body when they are valid, else null and a message per bad field. */
export function awsRestoreRequest(kind: AwsKind, pointId: string, disks: string[], v: AwsRestoreValues, diskBytes: number): { errors: FieldErrors; body: AwsRestoreBody | null } {
  const errors: FieldErrors = {};
  const region = v.region.trim();
  if (!REGION.test(region)) errors.region = `Region ${JSON.stringify(region)}: expected a region code such as eu-west-1`;
  const roleArn = v.roleArn.trim();
  if (roleArn && !ROLE_ARN.test(roleArn)) errors.roleArn = 'Expected a role ARN such as arn:aws:iam::123456789012:role/CloudkeepRestore';
  const body: AwsRestoreBody = { kind, pointId, target: { region, ...(roleArn ? { roleArn } : {}) } };
  if (kind !== 'instance') body.disks = disks;
  if (kind === 'ebs-volume') body.volume = volumeOf(v, region, diskBytes, errors);
  if (kind === 'instance') {
    const instance = instanceOf(v, errors);
    if (Object.keys(instance).length > 0) body.instance = instance;
  }
  return Object.keys(errors).length > 0 ? { errors, body: null } : { errors, body };
}

function volumeOf(v: AwsRestoreValues, region: string, diskBytes: number, errors: FieldErrors): NonNullable<AwsRestoreBody['volume']> {
  const az = v.availabilityZone.trim();
  const known = REGION.test(region);
  const example = `${known ? region : 'eu-west-1'}a`;
  if (!az) errors.availabilityZone = `Choose the availability zone of the new volume, such as ${example}`;
  else if (!known || !az.startsWith(region) || !/^[a-z0-9-]+[a-z]$/.test(az)) errors.availabilityZone = `Zone ${JSON.stringify(az)}: expected a zone of ${known ? region : 'the target region'}, such as ${example}`;
  const volumeType = v.volumeType;
  if (!VOLUME_TYPES.includes(volumeType)) errors.volumeType = `Volume type ${JSON.stringify(volumeType)}: expected one of ${VOLUME_TYPES.join(', ')}`;
  const volume: NonNullable<AwsRestoreBody['volume']> = { availabilityZone: az, volumeType };
  const min = minSizeGiB(diskBytes);
  const size = whole(v.sizeGiB, min, 65536, 'Size');
  if (typeof size === 'string') errors.sizeGiB = v.sizeGiB.trim() && Number(v.sizeGiB) < min ? `Size must be at least ${min} GiB: the disk holds ${min} GiB` : size;
  else if (size !== undefined) volume.sizeGiB = size;
  const range = IOPS[volumeType];
  if (v.iops.trim() && !range) errors.iops = `IOPS can be set only for ${Object.keys(IOPS).join(', ')} volumes`;
  else if (range) {
    const iops = whole(v.iops, range[0], range[1], 'IOPS');
    if (typeof iops === 'string') errors.iops = iops;
    else if (iops !== undefined) volume.iops = iops;
    else if (volumeType !== 'gp3') errors.iops = `${volumeType} volumes need IOPS (${range[0]} to ${range[1]})`;
  }
  if (v.throughput.trim() && volumeType !== 'gp3') errors.throughput = 'Throughput can be set only for gp3 volumes';
  else {
    const throughput = whole(v.throughput, THROUGHPUT[0], THROUGHPUT[1], 'Throughput (MiB/s)');
    if (typeof throughput === 'string') errors.throughput = throughput;
    else if (throughput !== undefined) volume.throughput = throughput;
  }
  return volume;
}

function instanceOf(v: AwsRestoreValues, errors: FieldErrors): NonNullable<AwsRestoreBody['instance']> {
  const instance: NonNullable<AwsRestoreBody['instance']> = {};
  const type = v.instanceType.trim();
  if (type && !INSTANCE_TYPE.test(type)) errors.instanceType = `Instance type ${JSON.stringify(type)}: expected a type such as m7i.large`;
  else if (type) instance.instanceType = type;
  const subnet = v.subnetId.trim();
  if (subnet && !SUBNET.test(subnet)) errors.subnetId = `Subnet ${JSON.stringify(subnet)}: expected an id such as subnet-0123456789abcdef0`;
  else if (subnet) instance.subnetId = subnet;
  const groups = v.securityGroupIds.split(/[\s,]+/).filter((g) => g !== '');
  const bad = groups.filter((g) => !SECURITY_GROUP.test(g));
  if (bad.length > 0) errors.securityGroupIds = `Security group ${JSON.stringify(bad[0])}: expected ids such as sg-0123456789abcdef0, separated by commas`;
  else if (groups.length > 0) instance.securityGroupIds = [...new Set(groups)];
  return instance;
}
