// EC2 rights of a restore target: the control plane's own account (shared orchestration role) or a member account (member role).
// Both create only with the cloudkeep:restore request tag and delete only what carries it.
import { Aws } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { MANAGED_TAG_KEY, MANAGED_TAG_VALUE } from './tags.ts';

/** Every resource a restore creates carries this tag (core/orchestration/restore-types.ts RESTORE_TAG). */
export const RESTORE_TAG_KEY = 'cloudkeep:restore';

const arn = (type: string) => `arn:${Aws.PARTITION}:ec2:*:${Aws.ACCOUNT_ID}:${type}/*`;
const SNAPSHOTS = `arn:${Aws.PARTITION}:ec2:*::snapshot/*`;
const IMAGES = `arn:${Aws.PARTITION}:ec2:*::image/*`;
const requestTag = { Null: { [`aws:RequestTag/${RESTORE_TAG_KEY}`]: 'false' } };
const resourceTag = { Null: { [`aws:ResourceTag/${RESTORE_TAG_KEY}`]: 'false' } };
const managed = { StringEquals: { [`aws:ResourceTag/${MANAGED_TAG_KEY}`]: MANAGED_TAG_VALUE } };

const statement = (sid: string, actions: string[], resources: string[], conditions?: Record<string, unknown>) => new iam.PolicyStatement({ sid, actions, resources, conditions });

/**
 * `own`: the control plane's account, where workers write the restored (managed) snapshots, shares them and
 * deletes them. `member`: a member account, which creates volumes from the shared snapshots and, for a whole
 * instance, copies them first (RegisterImage takes only own snapshots) and launches from the managed copies.
 */
export function restoreTargetStatements(target: 'own' | 'member'): iam.PolicyStatement[] {
  const createActions = ['CreateVolume', 'RunInstances', 'RegisterImage', ...(target === 'member' ? ['CopySnapshot'] : [])];
  const common = [
    // New volumes, images and instances only with the restore tag in the request.
    statement('RestoreCreate', ['ec2:CreateVolume', 'ec2:RunInstances'], [arn('volume'), arn('instance')], requestTag),
    statement('RestoreRegisterImage', ['ec2:RegisterImage'], [IMAGES], requestTag),
    statement('RestoreLaunch', ['ec2:RunInstances'], [IMAGES, arn('subnet'), arn('security-group'), arn('network-interface')]),
    statement('RestoreTagOnCreate', ['ec2:CreateTags'], [arn('volume'), arn('instance'), IMAGES, ...(target === 'member' ? [SNAPSHOTS] : [])], { StringEquals: { 'ec2:CreateAction': createActions } }),
    statement('RestoreDelete', ['ec2:DeleteVolume', 'ec2:TerminateInstances', 'ec2:DeregisterImage'], [arn('volume'), arn('instance'), IMAGES], resourceTag),
  ];
  if (target === 'own') {
    return [
      statement('RestoreDescribe', ['ec2:DescribeVolumes', 'ec2:DescribeInstances', 'ec2:DescribeImages', 'ec2:DescribeSnapshots'], ['*']),
      ...common,
      statement('RestoreSnapshots', ['ec2:CreateVolume', 'ec2:RegisterImage', 'ec2:RunInstances', 'ec2:ModifySnapshotAttribute', 'ec2:DeleteSnapshot'], [SNAPSHOTS], managed),
    ];
  }
  return [
    ...common,
    // The control plane's snapshots shared with this account carry no tags visible here: volumes from them still need the restore request tag.
    statement('RestoreSharedSnapshots', ['ec2:CreateVolume'], [SNAPSHOTS]),
    statement('RestoreCopySnapshot', ['ec2:CopySnapshot'], [SNAPSHOTS], requestTag),
    // The copies are tagged managed on creation; deleting them is Ec2SnapshotDelete (managed tag).
    statement('RestoreFromCopies', ['ec2:RegisterImage', 'ec2:RunInstances'], [SNAPSHOTS], managed),
  ];
}
