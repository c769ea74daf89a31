// An EC2 instance's launch configuration, recorded at backup time as restore point tags so a whole-instance restore can relaunch it.
import { InvalidArgumentError } from '../errors.ts';

/** What discovery records of an instance; everything a RunInstances of the restored instance needs besides the disks. */
export interface InstanceConfig {
  instanceType: string;
  subnetId: string;
  securityGroupIds: string[];
  availabilityZone: string;
  /** x86_64 or arm64: the restored root disk's image is registered with it. */
  architecture: string;
  /** e.g. /dev/xvda: the device of the root volume. */
  rootDeviceName: string;
  enaSupport: boolean;
  /** Device name of each attached EBS volume, by volume id. */
  devices: Record<string, string>;
  /** The instance's own tags (Name, ...), without aws: ones. */
  tags?: Record<string, string>;
}

/** Restore point tag keys (manifest tags). Points backed up before these existed simply lack them. */
export const CONFIG_TAGS = {
  instanceType: 'cloudkeep:instance-type',
  subnetId: 'cloudkeep:subnet',
  securityGroupIds: 'cloudkeep:security-groups',
  availabilityZone: 'cloudkeep:availability-zone',
  architecture: 'cloudkeep:architecture',
  rootDeviceName: 'cloudkeep:root-device',
  enaSupport: 'cloudkeep:ena',
  devicePrefix: 'cloudkeep:device:',
  tagPrefix: 'cloudkeep:tag:',
} as const;

/** Task document tag keys are limited to 128 characters: longer instance tag keys are not recorded. */
const TAG_KEY_MAX = 128;

/** Tag values are limited to 256 characters (task documents and EC2 tags alike). */
const TAG_VALUE_MAX = 256;

/** The tags that record `config`; empty when there is none or a value would not fit a tag (the point then restores volumes only). */
export function instanceConfigTags(config: InstanceConfig | undefined): Record<string, string> {
  if (!config) return {};
  const tags: Record<string, string> = {
    [CONFIG_TAGS.instanceType]: config.instanceType,
    [CONFIG_TAGS.subnetId]: config.subnetId,
    [CONFIG_TAGS.securityGroupIds]: config.securityGroupIds.join(','),
    [CONFIG_TAGS.availabilityZone]: config.availabilityZone,
    [CONFIG_TAGS.architecture]: config.architecture,
    [CONFIG_TAGS.rootDeviceName]: config.rootDeviceName,
    [CONFIG_TAGS.enaSupport]: String(config.enaSupport),
  };
  for (const [volumeId, device] of Object.entries(config.devices)) tags[`${CONFIG_TAGS.devicePrefix}${volumeId}`] = device;
  for (const [key, value] of Object.entries(config.tags ?? {})) {
    if (!key.startsWith('aws:') && CONFIG_TAGS.tagPrefix.length + key.length <= TAG_KEY_MAX && value.length <= TAG_VALUE_MAX) tags[`${CONFIG_TAGS.tagPrefix}${key}`] = value;
  }
  return Object.values(tags).some((v) => v.length > TAG_VALUE_MAX) ? {} : tags;
}

/**
 * The configuration recorded in a restore point's tags. InvalidArgumentError naming every missing
 * tag (points backed up before Cloudkeep recorded it): such a point restores its volumes, not the instance.
 */
export function instanceConfigFromTags(pointId: string, tags: Record<string, string>, volumeIds: readonly string[]): InstanceConfig {
  const required = [CONFIG_TAGS.instanceType, CONFIG_TAGS.subnetId, CONFIG_TAGS.securityGroupIds, CONFIG_TAGS.availabilityZone, CONFIG_TAGS.architecture, CONFIG_TAGS.rootDeviceName];
  const missing: string[] = required.filter((k) => !tags[k]);
  missing.push(...volumeIds.filter((v) => !tags[`${CONFIG_TAGS.devicePrefix}${v}`]).map((v) => `${CONFIG_TAGS.devicePrefix}${v}`));
  if (missing.length > 0) {
    throw new InvalidArgumentError(`restore point ${pointId} does not record the instance configuration (missing tags ${missing.join(', ')}); it was backed up before Cloudkeep recorded it or is not an instance: restore its volumes instead`);
  }
  return {
    instanceType: tags[CONFIG_TAGS.instanceType],
    subnetId: tags[CONFIG_TAGS.subnetId],
    securityGroupIds: tags[CONFIG_TAGS.securityGroupIds].split(',').filter(Boolean),
    availabilityZone: tags[CONFIG_TAGS.availabilityZone],
    architecture: tags[CONFIG_TAGS.architecture],
    rootDeviceName: tags[CONFIG_TAGS.rootDeviceName],
    enaSupport: tags[CONFIG_TAGS.enaSupport] === 'true',
    devices: Object.fromEntries(volumeIds.map((v) => [v, tags[`${CONFIG_TAGS.devicePrefix}${v}`]])),
    tags: Object.fromEntries(Object.entries(tags).filter(([k]) => k.startsWith(CONFIG_TAGS.tagPrefix)).map(([k, v]) => [k.slice(CONFIG_TAGS.tagPrefix.length), v])),
  };
}
