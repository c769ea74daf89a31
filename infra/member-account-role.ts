// The role each protected (member) account deploys so the control plane can snapshot, run scripts and restore there.
import { Aws, CfnCondition, CfnParameter, Fn, Stack, Validations, type StackProps } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { readRoleName } from '../core/orchestration/member-roles.ts';
import { restoreTargetStatements } from './restore-grants.ts';
import { MANAGED_TAG_KEY, MANAGED_TAG_VALUE, SCRIPTS_TAG_KEY } from './tags.ts';

export interface MemberAccountRoleProps {
  /** ARN of the control-plane role allowed to assume this role (the only trusted principal). */
  readonly controlPlaneRoleArn: string;
  /** ExternalId the control plane must present (confused-deputy protection). */
  readonly externalId: string;
  /**
   * Physical role name, so the control plane can build the ARN from the account id.
   * @default 'cloudkeep-member'
   */
  readonly roleName?: string;
}

const P = Aws.PARTITION;
const A = Aws.ACCOUNT_ID;
const managedRequestTag = { StringEquals: { [`aws:RequestTag/${MANAGED_TAG_KEY}`]: MANAGED_TAG_VALUE } };
const managedResourceTag = { StringEquals: { [`aws:ResourceTag/${MANAGED_TAG_KEY}`]: MANAGED_TAG_VALUE } };

/** Regions are `*`: one IAM role serves every region of the member account. */
function statements(): iam.PolicyStatement[] {
  const ec2Snapshots = `arn:${P}:ec2:*::snapshot/*`;
  return [
    // EC2 Describe* calls support no resource-level permissions: Resource must be '*'.
    new iam.PolicyStatement({ sid: 'Ec2Describe', actions: ['ec2:DescribeInstances', 'ec2:DescribeVolumes', 'ec2:DescribeSnapshots', 'ec2:DescribeImages'], resources: ['*'] }),
    // Snapshot sources: any volume or instance of this account (policies choose which).
    new iam.PolicyStatement({
      sid: 'Ec2SnapshotSources',
      actions: ['ec2:CreateSnapshot', 'ec2:CreateSnapshots'],
      resources: [`arn:${P}:ec2:*:${A}:volume/*`, `arn:${P}:ec2:*:${A}:instance/*`],
    }),
    // New snapshots must be created with the managed tag.
    new iam.PolicyStatement({ sid: 'Ec2SnapshotCreate', actions: ['ec2:CreateSnapshot', 'ec2:CreateSnapshots'], resources: [ec2Snapshots], conditions: managedRequestTag }),
    new iam.PolicyStatement({
      sid: 'Ec2TagOnCreate',
      actions: ['ec2:CreateTags'],
      resources: [ec2Snapshots],
      conditions: { StringEquals: { 'ec2:CreateAction': ['CreateSnapshot', 'CreateSnapshots'] } },
    }),
    new iam.PolicyStatement({ sid: 'Ec2SnapshotDelete', actions: ['ec2:DeleteSnapshot'], resources: [ec2Snapshots], conditions: managedResourceTag }),
    new iam.PolicyStatement({
      sid: 'RdsDescribe',
      actions: ['rds:DescribeDBInstances', 'rds:DescribeDBClusters', 'rds:DescribeDBSnapshots', 'rds:DescribeDBClusterSnapshots'],
      resources: [`arn:${P}:rds:*:${A}:db:*`, `arn:${P}:rds:*:${A}:cluster:*`, `arn:${P}:rds:*:${A}:snapshot:*`, `arn:${P}:rds:*:${A}:cluster-snapshot:*`],
    }),
    new iam.PolicyStatement({
      sid: 'RdsSnapshotSources',
      actions: ['rds:CreateDBSnapshot', 'rds:CreateDBClusterSnapshot'],
      resources: [`arn:${P}:rds:*:${A}:db:*`, `arn:${P}:rds:*:${A}:cluster:*`],
    }),
    // Tag-on-create for RDS needs rds:AddTagsToResource as well; both only with the managed tag in the request.
    new iam.PolicyStatement({
      sid: 'RdsSnapshotCreate',
      actions: ['rds:CreateDBSnapshot', 'rds:CreateDBClusterSnapshot', 'rds:AddTagsToResource'],
      resources: [`arn:${P}:rds:*:${A}:snapshot:*`, `arn:${P}:rds:*:${A}:cluster-snapshot:*`],
      conditions: managedRequestTag,
    }),
    new iam.PolicyStatement({
      sid: 'RdsSnapshotDelete',
      actions: ['rds:DeleteDBSnapshot', 'rds:DeleteDBClusterSnapshot'],
      resources: [`arn:${P}:rds:*:${A}:snapshot:*`, `arn:${P}:rds:*:${A}:cluster-snapshot:*`],
      conditions: managedResourceTag,
    }),
    // Pre/post snapshot scripts and Windows VSS snapshots (taken by the instance's own role): only the two AWS shell documents and AWSEC2-CreateVssSnapshot...
    new iam.PolicyStatement({
      sid: 'SsmScriptDocuments',
      actions: ['ssm:SendCommand'],
      resources: [`arn:${P}:ssm:*::document/AWS-RunShellScript`, `arn:${P}:ssm:*::document/AWS-RunPowerShellScript`, `arn:${P}:ssm:*::document/AWSEC2-CreateVssSnapshot`],
    }),
    // ...on instances tagged for backup scripts.
    new iam.PolicyStatement({
      sid: 'SsmScriptInstances',
      actions: ['ssm:SendCommand'],
      resources: [`arn:${P}:ec2:*:${A}:instance/*`],
      conditions: { Null: { [`aws:ResourceTag/${SCRIPTS_TAG_KEY}`]: 'false' } },
    }),
    // Reading a script's outcome: GetCommandInvocation supports no resource-level permissions.
    new iam.PolicyStatement({ sid: 'SsmScriptResults', actions: ['ssm:GetCommandInvocation'], resources: ['*'] }),
    // Restores into this account: volumes from the shared restored snapshots, whole instances from copies of them.
    ...restoreTargetStatements('member'),
  ];
}

/** The member-account role: trusts exactly one control-plane role with an ExternalId. */
export class MemberAccountRole extends Construct {
  readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: MemberAccountRoleProps) {
    super(scope, id);
    const trusted = new iam.ArnPrincipal(props.controlPlaneRoleArn).withConditions({ StringEquals: { 'sts:ExternalId': props.externalId } });
    this.role = new iam.Role(this, 'Role', {
      roleName: props.roleName ?? 'cloudkeep-member',
      description: 'Lets the Cloudkeep control plane snapshot resources, run backup scripts and restore into this account',
      assumedBy: trusted,
      inlinePolicies: { cloudkeep: new iam.PolicyDocument({ statements: statements() }) },
    });
    const wildcards: [string, string][] = [
      ['Resource::*', 'EC2 Describe* and ssm:GetCommandInvocation support no resource-level permissions.'],
      ['Resource::arn:<AWS::Partition>:ec2:*::snapshot/*', 'Snapshots are created per run; create needs the cloudkeep:managed request tag, CopySnapshot the cloudkeep:restore request tag, delete the managed resource tag; volumes come from the snapshots restores share with this account.'],
      ['Resource::arn:<AWS::Partition>:ec2:*:<AWS::AccountId>:volume/*', 'Policies choose volumes at run time; restored volumes are created only with the cloudkeep:restore request tag and deleted only with that resource tag.'],
      ['Resource::arn:<AWS::Partition>:ec2:*:<AWS::AccountId>:instance/*', 'Policies choose instances at run time (SendCommand needs the cloudkeep:backup tag); restored instances need the cloudkeep:restore request tag, termination that resource tag.'],
      ['Resource::arn:<AWS::Partition>:ec2:*::image/*', 'Restored instances boot from images registered per restore, only with the cloudkeep:restore request tag; deregistering needs that resource tag.'],
      ['Resource::arn:<AWS::Partition>:ec2:*:<AWS::AccountId>:subnet/*', 'A restored instance launches into the subnet it was recorded in or the one the restore request names; limited to this account.'],
      ['Resource::arn:<AWS::Partition>:ec2:*:<AWS::AccountId>:security-group/*', 'A restored instance gets its recorded or requested security groups; limited to this account.'],
      ['Resource::arn:<AWS::Partition>:ec2:*:<AWS::AccountId>:network-interface/*', 'RunInstances creates the restored instance\'s network interface; limited to this account.'],
      ['Resource::arn:<AWS::Partition>:rds:*:<AWS::AccountId>:db:*', 'Backup policies choose databases at run time; limited to this account.'],
      ['Resource::arn:<AWS::Partition>:rds:*:<AWS::AccountId>:cluster:*', 'Backup policies choose clusters at run time; limited to this account.'],
      ['Resource::arn:<AWS::Partition>:rds:*:<AWS::AccountId>:snapshot:*', 'Snapshots are created per run; writes are conditioned on the cloudkeep:managed tag.'],
      ['Resource::arn:<AWS::Partition>:rds:*:<AWS::AccountId>:cluster-snapshot:*', 'Snapshots are created per run; writes are conditioned on the cloudkeep:managed tag.'],
      ['Resource::arn:<AWS::Partition>:ssm:*::document/AWS-RunShellScript', 'AWS-owned document in every region of this account.'],
      ['Resource::arn:<AWS::Partition>:ssm:*::document/AWS-RunPowerShellScript', 'AWS-owned document in every region of this account.'],
      ['Resource::arn:<AWS::Partition>:ssm:*::document/AWSEC2-CreateVssSnapshot', 'AWS-owned document in every region of this account.'],
    ];
    Validations.of(this.role).acknowledge(...wildcards.map(([finding, reason]) => ({ id: `AwsSolutions-IAM5[${finding}]`, reason })));
  }
}

/** What the console's API reads in a member account: resources and Cloudkeep's snapshots, nothing else. */
const READ_ACTIONS = [
  'ec2:DescribeInstances', 'ec2:DescribeVolumes', 'ec2:DescribeSnapshots',
  'rds:DescribeDBInstances', 'rds:DescribeDBClusters', 'rds:DescribeDBSnapshots', 'rds:DescribeDBClusterSnapshots',
];

export interface MemberReadRoleProps {
  /** ARN of the console API function's role (the ApiRoleArn output of CloudkeepConsole). */
  readonly apiRoleArn: string;
  readonly externalId: string;
  /** @default 'cloudkeep-member-read' */
  readonly roleName?: string;
}

/**
 * The console API's role in a member account: Describe calls only, so the API (reachable from the
 * internet behind Cognito) can list resources and snapshots but never change anything in the account.
 */
export class MemberReadRole extends Construct {
  readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: MemberReadRoleProps) {
    super(scope, id);
    this.role = new iam.Role(this, 'Role', {
      roleName: props.roleName ?? readRoleName('cloudkeep-member'),
      description: "Lets the Cloudkeep console's API list this account's resources and Cloudkeep's snapshots (read only)",
      assumedBy: new iam.ArnPrincipal(props.apiRoleArn).withConditions({ StringEquals: { 'sts:ExternalId': props.externalId } }),
      inlinePolicies: { read: new iam.PolicyDocument({ statements: [new iam.PolicyStatement({ sid: 'Describe', actions: READ_ACTIONS, resources: ['*'] })] }) },
    });
    Validations.of(this.role).acknowledge({ id: 'AwsSolutions-IAM5[Resource::*]', reason: 'Describe calls only (EC2 Describe* has no resource-level permissions; RDS describes list every database and snapshot of the account).' });
  }
}

export interface MemberAccountRoleStackProps extends StackProps, Partial<MemberAccountRoleProps> {
  /** The console API's role ARN; absent: a template parameter `ConsoleApiRoleArn` (empty: no read role). */
  readonly consoleApiRoleArn?: string;
}

/**
 * A stand-alone template for member accounts (deploy per account or through StackSets). Without
 * controlPlaneRoleArn/externalId it exposes them as CloudFormation parameters.
 */
export class MemberAccountRoleStack extends Stack {
  readonly memberRole: MemberAccountRole;
  readonly readRole: MemberReadRole;

  constructor(scope: Construct, id: string, props: MemberAccountRoleStackProps = {}) {
    super(scope, id, props);
    const controlPlaneRoleArn =
      props.controlPlaneRoleArn ??
      new CfnParameter(this, 'ControlPlaneRoleArn', { type: 'String', allowedPattern: '^arn:aws[a-z-]*:iam::\\d{12}:role/.+$', description: 'The control plane\'s OrchestrationRoleArn output (role cloudkeep-orchestration): the only principal allowed to assume the member role' }).valueAsString;
    const externalId =
      props.externalId ?? new CfnParameter(this, 'ExternalId', { type: 'String', minLength: 16, noEcho: true, description: 'ExternalId the control plane presents' }).valueAsString;
    this.memberRole = new MemberAccountRole(this, 'MemberRole', { controlPlaneRoleArn, externalId, roleName: props.roleName });
    const roleName = readRoleName(props.roleName ?? 'cloudkeep-member');
    if (props.consoleApiRoleArn !== undefined) {
      this.readRole = new MemberReadRole(this, 'ReadRole', { apiRoleArn: props.consoleApiRoleArn, externalId, roleName });
      return;
    }
    const apiRoleArn = new CfnParameter(this, 'ConsoleApiRoleArn', {
      type: 'String', default: '', allowedPattern: '^$|^arn:aws[a-z-]*:iam::\\d{12}:role/.+$',
      description: "The console's ApiRoleArn output (CloudkeepConsole stack): trusted by the read-only role for the console's resource and snapshot lists; empty: no read role",
    }).valueAsString;
    this.readRole = new MemberReadRole(this, 'ReadRole', { apiRoleArn, externalId, roleName });
    const withConsole = new CfnCondition(this, 'WithConsole', { expression: Fn.conditionNot(Fn.conditionEquals(apiRoleArn, '')) });
    (this.readRole.role.node.defaultChild as iam.CfnRole).cfnOptions.condition = withConsole;
  }
}
