// Worker networking, identity and launch template: private subnets, no inbound, IMDSv2, least-privilege role.
import { Aws, Fn, Stack, Validations, type StackProps } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { stateMachineArnPattern, STATE_MACHINE_NAME_PREFIX } from './control-plane-stack.ts';
import type { RepositoryBucket } from './repository-stack.ts';
import { MANAGED_TAG_KEY, MANAGED_TAG_VALUE, WORKER_LAUNCH_TEMPLATE_NAME } from './tags.ts';

export interface WorkerStackProps extends StackProps {
  /** The repository the workers write to; its grant scopes their S3 and KMS rights. */
  readonly repository: RepositoryBucket;
  /** Key that wraps repository master keys; workers may only decrypt with it. */
  readonly wrapKey: kms.IKey;
  /**
   * Existing VPC to run workers in (looked up at synth: needs credentials and a concrete env).
   * The VPC must already reach S3, EBS direct, STS, KMS and Step Functions.
   * @default - a new VPC with private isolated subnets and the endpoints the worker needs
   */
  readonly vpcId?: string;
  /**
   * Availability zones for a new VPC.
   * @default - the first two AZs of the region, resolved at deploy time (synth needs no lookup)
   */
  readonly availabilityZones?: string[];
  /**
   * CPU architecture of the worker AMI.
   * @default ec2.AmazonLinuxCpuType.X86_64
   */
  readonly cpuType?: ec2.AmazonLinuxCpuType;
  /**
   * Root volume size in GiB.
   * @default 16
   */
  readonly rootVolumeSizeGiB?: number;
}

/** Where workers run and with what identity. The state machine starts instances from `launchTemplate` in `subnets`. */
export class WorkerStack extends Stack {
  readonly vpc: ec2.IVpc;
  readonly subnets: ec2.SubnetSelection;
  readonly securityGroup: ec2.SecurityGroup;
  readonly role: iam.Role;
  readonly launchTemplate: ec2.LaunchTemplate;
  private readonly azOverride: string[] | undefined;

  constructor(scope: Construct, id: string, props: WorkerStackProps) {
    super(scope, id, props);
    this.azOverride = props.availabilityZones;

    this.vpc = props.vpcId ? ec2.Vpc.fromLookup(this, 'Vpc', { vpcId: props.vpcId }) : this.createVpc();
    this.subnets = { subnetType: ec2.SubnetType.PRIVATE_ISOLATED };

    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: this.vpc,
      description: 'Cloudkeep workers: no inbound, HTTPS out to AWS APIs only',
      allowAllOutbound: false,
    });
    this.securityGroup.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'HTTPS to AWS APIs (VPC endpoints)');
    if (this.vpc instanceof ec2.Vpc) this.addInterfaceEndpoints(this.vpc);

    this.role = new iam.Role(this, 'Role', {
      description: 'Cloudkeep worker instances',
      assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com'),
    });
    this.grantWorkerPermissions(props);

    this.launchTemplate = new ec2.LaunchTemplate(this, 'LaunchTemplate', {
      // A fixed name: StartWorker launches it by name (the control plane cannot reference this later stack).
      launchTemplateName: WORKER_LAUNCH_TEMPLATE_NAME,
      // A CloudFormation parameter resolved at deploy time from the public SSM parameter, not a synth-time lookup.
      machineImage: ec2.MachineImage.latestAmazonLinux2023({ cpuType: props.cpuType ?? ec2.AmazonLinuxCpuType.X86_64 }),
      role: this.role,
      securityGroup: this.securityGroup,
      requireImdsv2: true,
      httpTokens: ec2.LaunchTemplateHttpTokens.REQUIRED,
      httpPutResponseHopLimit: 1,
      instanceInitiatedShutdownBehavior: ec2.InstanceInitiatedShutdownBehavior.TERMINATE,
      blockDevices: [
        {
          deviceName: '/dev/xvda',
          volume: ec2.BlockDeviceVolume.ebs(props.rootVolumeSizeGiB ?? 16, {
            encrypted: true,
            volumeType: ec2.EbsDeviceVolumeType.GP3,
            deleteOnTermination: true,
          }),
        },
      ],
      // Seam: user data that starts the worker is added when the worker image lands.
    });
  }

  override get availabilityZones(): string[] {
    return this.azOverride ?? [Fn.select(0, Fn.getAzs()), Fn.select(1, Fn.getAzs())];
  }

  private createVpc(): ec2.Vpc {
    const vpc = new ec2.Vpc(this, 'Vpc', {
      maxAzs: 2,
      natGateways: 0,
      restrictDefaultSecurityGroup: false,
      subnetConfiguration: [{ name: 'worker', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 20 }],
      gatewayEndpoints: {
        S3: { service: ec2.GatewayVpcEndpointAwsService.S3 },
        DynamoDB: { service: ec2.GatewayVpcEndpointAwsService.DYNAMODB },
      },
      flowLogs: { Rejected: { trafficType: ec2.FlowLogTrafficType.REJECT } },
    });
    return vpc;
  }

  private addInterfaceEndpoints(vpc: ec2.Vpc): void {
    // Isolated subnets reach AWS APIs only through endpoints: EBS direct reads, STS, KMS (wrap key), Step Functions (task tokens).
    const interfaceEndpoints = {
      EbsDirect: ec2.InterfaceVpcEndpointAwsService.EBS_DIRECT,
      Sts: ec2.InterfaceVpcEndpointAwsService.STS,
      Kms: ec2.InterfaceVpcEndpointAwsService.KMS,
      StepFunctions: ec2.InterfaceVpcEndpointAwsService.STEP_FUNCTIONS,
    };
    for (const [id, service] of Object.entries(interfaceEndpoints)) {
      // open: false: only the workers' security group may reach the endpoints, not the whole VPC CIDR.
      const endpoint = vpc.addInterfaceEndpoint(id, { service, open: false, privateDnsEnabled: true, subnets: this.subnets });
      endpoint.connections.allowDefaultPortFrom(this.securityGroup, 'Cloudkeep workers');
    }
  }

  private grantWorkerPermissions(props: WorkerStackProps): void {
    // EBS direct reads of Cloudkeep-made snapshots only; snapshot ids are per run, so the ARN ends in a wildcard.
    this.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['ebs:ListSnapshotBlocks', 'ebs:ListChangedBlocks', 'ebs:GetSnapshotBlock'],
        resources: [`arn:${Aws.PARTITION}:ec2:${Aws.REGION}::snapshot/*`],
        conditions: { StringEquals: { [`aws:ResourceTag/${MANAGED_TAG_KEY}`]: MANAGED_TAG_VALUE } },
      }),
    );
    // Restores write new snapshots: started only with the managed tag, written and deleted only when they carry it.
    this.role.addToPolicy(new iam.PolicyStatement({
      actions: ['ebs:StartSnapshot'],
      resources: [`arn:${Aws.PARTITION}:ec2:${Aws.REGION}::snapshot/*`],
      conditions: { StringEquals: { [`aws:RequestTag/${MANAGED_TAG_KEY}`]: MANAGED_TAG_VALUE } },
    }));
    this.role.addToPolicy(new iam.PolicyStatement({
      actions: ['ebs:PutSnapshotBlock', 'ebs:CompleteSnapshot', 'ec2:DeleteSnapshot'],
      resources: [`arn:${Aws.PARTITION}:ec2:${Aws.REGION}::snapshot/*`],
      conditions: { StringEquals: { [`aws:ResourceTag/${MANAGED_TAG_KEY}`]: MANAGED_TAG_VALUE } },
    }));
    // Task-token callbacks. Placeholder pattern: narrowed to the state machine (grantTaskResponse) when it lands.
    this.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['states:SendTaskSuccess', 'states:SendTaskFailure', 'states:SendTaskHeartbeat'],
        resources: [stateMachineArnPattern()],
      }),
    );
    props.repository.grantWorkerReadWrite(this.role);
    props.wrapKey.grantDecrypt(this.role);

    Validations.of(this.role).acknowledge(
      {
        id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:<AWS::Region>::snapshot/*]',
        reason: 'Snapshot ids are created per backup run; access is conditioned on the cloudkeep:managed=true tag.',
      },
      {
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:stateMachine:${STATE_MACHINE_NAME_PREFIX}*]`,
        reason: 'Placeholder until the state machine lands; limited to cloudkeep-* state machines in this account and region.',
      },
    );
  }
}
