// The restore wizard's logic under Node: which kinds are offered, and the AWS forms' checks and request bodies.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { awsRestoreRequest, defaultValues, minSizeGiB, type AwsRestoreValues } from '../../console/src/aws-restore.ts';
import { LOCAL_CAPABILITIES, offeredKinds, type Capabilities } from '../../console/src/restore-kinds.ts';

const AWS: Capabilities = { auth: 'cognito', runNow: true, planning: true, restores: { image: false, ebsVolume: true, instance: true, snapshot: true } };
const GiB = 2 ** 30;
const values = (over: Partial<AwsRestoreValues> = {}): AwsRestoreValues => ({ ...defaultValues('eu-west-1'), ...over });

describe('offered restore kinds', () => {
  it('local servers offer image files; AWS the point restoreKinds among snapshot, volume and instance', () => {
    assert.deepEqual(offeredKinds(LOCAL_CAPABILITIES, {}), ['image']);
    assert.deepEqual(offeredKinds(LOCAL_CAPABILITIES, { restoreKinds: ['image'] }), ['image']);
    assert.deepEqual(offeredKinds(AWS, { restoreKinds: ['snapshot', 'ebs-volume'] }), ['snapshot', 'ebs-volume']);
    assert.deepEqual(offeredKinds(AWS, { restoreKinds: ['snapshot', 'ebs-volume', 'instance'] }), ['snapshot', 'ebs-volume', 'instance']);
    assert.deepEqual(offeredKinds(AWS, {}), ['snapshot', 'ebs-volume'], 'no instance without the point saying so');
    assert.deepEqual(offeredKinds(AWS, { restoreKinds: [] }), []);
  });
});

describe('AWS restore requests', () => {
  it('makes the contract bodies of snapshot, volume (gp3 by default) and instance restores', () => {
    assert.deepEqual(awsRestoreRequest('snapshot', 'p1', ['root'], values(), GiB).body, { kind: 'snapshot', pointId: 'p1', disks: ['root'], target: { region: 'eu-west-1' } });
    assert.deepEqual(awsRestoreRequest('ebs-volume', 'p1', ['root'], values({ availabilityZone: 'eu-west-1b', sizeGiB: '20', iops: '4000', throughput: '250', roleArn: 'arn:aws:iam::210987654321:role/CloudkeepRestore' }), 8 * GiB).body, {
      kind: 'ebs-volume', pointId: 'p1', disks: ['root'], target: { region: 'eu-west-1', roleArn: 'arn:aws:iam::210987654321:role/CloudkeepRestore' },
      volume: { availabilityZone: 'eu-west-1b', volumeType: 'gp3', sizeGiB: 20, iops: 4000, throughput: 250 },
    });
    assert.deepEqual(awsRestoreRequest('instance', 'p2', ['root'], values({ region: 'us-east-2' }), GiB).body, { kind: 'instance', pointId: 'p2', target: { region: 'us-east-2' } });
    assert.deepEqual(awsRestoreRequest('instance', 'p2', ['root'], values({ instanceType: 'm7i.large', subnetId: 'subnet-0123abcd', securityGroupIds: 'sg-0123abcd, sg-0123abce sg-0123abcd' }), GiB).body?.instance, {
      instanceType: 'm7i.large', subnetId: 'subnet-0123abcd', securityGroupIds: ['sg-0123abcd', 'sg-0123abce'],
    });
  });

  it('names each bad field and what it expects', () => {
    const { errors, body } = awsRestoreRequest('ebs-volume', 'p1', ['root'], values({ region: 'Ireland', roleArn: 'role/x', availabilityZone: 'us-east-1a', sizeGiB: '4', throughput: '5000' }), 8 * GiB);
    assert.equal(body, null);
    assert.match(errors.region!, /Region "Ireland": expected a region code such as eu-west-1/);
    assert.match(errors.roleArn!, /Expected a role ARN such as arn:aws:iam::123456789012:role\//);
    assert.match(errors.availabilityZone!, /Zone "us-east-1a": expected a zone of the target region/);
    assert.match(errors.sizeGiB!, /Size must be at least 8 GiB: the disk holds 8 GiB/);
    assert.match(errors.throughput!, /Throughput \(MiB\/s\) "5000": expected a whole number from 125 to 2000/);
    assert.match(awsRestoreRequest('ebs-volume', 'p', ['root'], values(), GiB).errors.availabilityZone!, /Choose the availability zone of the new volume, such as eu-west-1a/);
  });

  it('knows which volume types take IOPS and throughput', () => {
    const io2 = awsRestoreRequest('ebs-volume', 'p', ['root'], values({ availabilityZone: 'eu-west-1a', volumeType: 'io2' }), GiB);
    assert.match(io2.errors.iops!, /io2 volumes need IOPS \(100 to 256000\)/);
    const st1 = awsRestoreRequest('ebs-volume', 'p', ['root'], values({ availabilityZone: 'eu-west-1a', volumeType: 'st1', iops: '500', throughput: '200' }), GiB);
    assert.match(st1.errors.iops!, /IOPS can be set only for gp3, io1, io2 volumes/);
    assert.match(st1.errors.throughput!, /Throughput can be set only for gp3 volumes/);
    assert.match(awsRestoreRequest('ebs-volume', 'p', ['root'], values({ availabilityZone: 'eu-west-1a', iops: '2.5' }), GiB).errors.iops!, /IOPS "2.5": expected a whole number from 3000 to 80000/);
  });

  it('checks instance overrides', () => {
    const { errors } = awsRestoreRequest('instance', 'p', ['root'], values({ instanceType: 'large', subnetId: 'subnet-xyz', securityGroupIds: 'sg-0123abcd,default' }), GiB);
    assert.match(errors.instanceType!, /Instance type "large": expected a type such as m7i.large/);
    assert.match(errors.subnetId!, /Subnet "subnet-xyz": expected an id such as subnet-/);
    assert.match(errors.securityGroupIds!, /Security group "default": expected ids such as sg-/);
  });

  it('sizes volumes in whole GiB, at least 1', () => {
    assert.equal(minSizeGiB(0), 1);
    assert.equal(minSizeGiB(GiB), 1);
    assert.equal(minSizeGiB(GiB + 1), 2);
  });
});
