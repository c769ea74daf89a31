// The AWS control plane's stateful core: control table, wrap key, failure alarm, scheduler group and role.
import { Aws, CfnOutput, CfnParameter, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { CONTROL_TABLE_SCHEMA } from '../providers/aws/dynamodb-control-table.ts';
import { RestoreStateMachine } from './restore-state-machine.ts';
import { BackupStateMachine } from './state-machine.ts';
import { ORCHESTRATION_ROLE_NAME, WORKER_LAUNCH_TEMPLATE_NAME } from './tags.ts';
import { FAILED_SESSIONS_METRIC, METRICS_NAMESPACE } from '../core/orchestration/session-metrics.ts';

/** State machines are named with this prefix; the placeholder grants below are scoped to it. */
export const STATE_MACHINE_NAME_PREFIX = 'cloudkeep-';
export { FAILED_SESSIONS_METRIC, METRICS_NAMESPACE } from '../core/orchestration/session-metrics.ts';

/** ARN pattern of the Cloudkeep state machines in a stack's account and region. */
export function stateMachineArnPattern(): string {
  // Pseudo parameters rather than the stack's env, so the pattern (and its cdk-nag finding id) is the same in every env.
  return `arn:${Aws.PARTITION}:states:${Aws.REGION}:${Aws.ACCOUNT_ID}:stateMachine:${STATE_MACHINE_NAME_PREFIX}*`;
}

export interface ControlPlaneStackProps extends StackProps {
  /**
   * Failed sessions within one evaluation period that raise the alarm.
   * @default 1
   */
  readonly failedSessionsThreshold?: number;
  /**
   * Evaluation period of the failed-sessions alarm.
   * @default Duration.minutes(5)
   */
  readonly alarmPeriod?: Duration;
  /**
   * ExternalId the member-account roles require when the handlers assume them.
   * @default - a CloudFormation parameter `MemberExternalId`
   */
  readonly memberExternalId?: string;
}

function attributeType(type: 'S' | 'N' | 'B'): dynamodb.AttributeType {
  return { S: dynamodb.AttributeType.STRING, N: dynamodb.AttributeType.NUMBER, B: dynamodb.AttributeType.BINARY }[type];
}

/** The schedule group of every policy's schedules. */
export const SCHEDULE_GROUP_NAME = 'cloudkeep';

/** The control plane's table, keys, alarm, scheduler seams, and the backup state machine with its handlers. */
export class ControlPlaneStack extends Stack {
  readonly table: dynamodb.Table;
  readonly tableKey: kms.Key;
  /** Wraps repository master keys (the KMS key provider's key). */
  readonly wrapKey: kms.Key;
  readonly alarmTopic: sns.Topic;
  readonly failedSessionsAlarm: cloudwatch.Alarm;
  readonly scheduleGroup: scheduler.ScheduleGroup;
  /** Role EventBridge Scheduler assumes to start backup executions. */
  readonly schedulerRole: iam.Role;
  /** The one role of the handlers that assume member roles; member-account roles trust exactly this ARN. */
  readonly orchestrationRole: iam.Role;
  /** The backup state machine and its handlers. */
  readonly backup: BackupStateMachine;
  /** The restore state machine (snapshot, volume or whole instance) and its handlers. */
  readonly restore: RestoreStateMachine;

  constructor(scope: Construct, id: string, props: ControlPlaneStackProps = {}) {
    super(scope, id, props);

    this.tableKey = new kms.Key(this, 'TableKey', {
      description: 'Cloudkeep control table encryption',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const s = CONTROL_TABLE_SCHEMA;
    this.table = new dynamodb.Table(this, 'ControlTable', {
      partitionKey: { name: s.partitionKey.name, type: attributeType(s.partitionKey.type) },
      sortKey: { name: s.sortKey.name, type: attributeType(s.sortKey.type) },
      billingMode: s.billingMode === 'PAY_PER_REQUEST' ? dynamodb.BillingMode.PAY_PER_REQUEST : dynamodb.BillingMode.PROVISIONED,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: this.tableKey,
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    for (const index of s.globalSecondaryIndexes) {
      this.table.addGlobalSecondaryIndex({
        indexName: index.indexName,
        partitionKey: { name: index.partitionKey.name, type: attributeType(index.partitionKey.type) },
        sortKey: { name: index.sortKey.name, type: attributeType(index.sortKey.type) },
        projectionType: dynamodb.ProjectionType[index.projectionType],
      });
    }

    this.wrapKey = new kms.Key(this, 'WrapKey', {
      description: 'Cloudkeep repository master-key wrapping (KMS key provider)',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    // CloudWatch alarms cannot publish to topics encrypted with the AWS-managed SNS key.
    const topicKey = new kms.Key(this, 'AlarmTopicKey', {
      description: 'Cloudkeep alarm topic encryption',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    topicKey.grant(new iam.ServicePrincipal('cloudwatch.amazonaws.com'), 'kms:Decrypt', 'kms:GenerateDataKey*');
    this.alarmTopic = new sns.Topic(this, 'AlarmTopic', { displayName: 'Cloudkeep alarms', masterKey: topicKey, enforceSSL: true });

    const failedSessions = new cloudwatch.Metric({
      namespace: METRICS_NAMESPACE,
      metricName: FAILED_SESSIONS_METRIC,
      statistic: cloudwatch.Stats.SUM,
      period: props.alarmPeriod ?? Duration.minutes(5),
    });
    this.failedSessionsAlarm = failedSessions.createAlarm(this, 'FailedSessionsAlarm', {
      alarmDescription: 'A Cloudkeep backup session failed',
      threshold: props.failedSessionsThreshold ?? 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      // The metric only exists once a session has failed: no data means nothing failed.
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.failedSessionsAlarm.addAlarmAction(new cwActions.SnsAction(this.alarmTopic));

    // A fixed name: `cloudkeep policy apply --group cloudkeep` and the console API's grants name it.
    this.scheduleGroup = new scheduler.ScheduleGroup(this, 'ScheduleGroup', { scheduleGroupName: SCHEDULE_GROUP_NAME, removalPolicy: RemovalPolicy.DESTROY });
    this.schedulerRole = new iam.Role(this, 'SchedulerRole', {
      description: 'Assumed by EventBridge Scheduler to start Cloudkeep backup executions',
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', { conditions: { StringEquals: { 'aws:SourceAccount': this.account } } }),
    });
    const externalId =
      props.memberExternalId ?? new CfnParameter(this, 'MemberExternalId', { type: 'String', minLength: 16, noEcho: true, description: 'ExternalId the member-account roles require' }).valueAsString;
    this.orchestrationRole = new iam.Role(this, 'OrchestrationRole', {
      roleName: ORCHESTRATION_ROLE_NAME,
      description: 'Cloudkeep handlers that act in member accounts (Discover, Take/Check/PruneSnapshots, CleanupWorker)',
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    });
    new CfnOutput(this, 'OrchestrationRoleArn', {
      value: this.orchestrationRole.roleArn,
      exportName: 'CloudkeepOrchestrationRoleArn',
      description: 'ControlPlaneRoleArn of the member-account role stack: the only principal it trusts',
    });
    const machine = {
      table: this.table,
      externalId,
      orchestrationRole: this.orchestrationRole,
      workerLaunchTemplate: WORKER_LAUNCH_TEMPLATE_NAME,
      workerKeySpec: `aws-kms:${this.wrapKey.keyArn}`,
    };
    this.backup = new BackupStateMachine(this, 'Backup', { ...machine, stateMachineName: `${STATE_MACHINE_NAME_PREFIX}backup` });
    // Only the backup state machine (the cloudkeep-* placeholder grant is gone now that it exists).
    this.backup.stateMachine.grantStartExecution(this.schedulerRole);
    this.restore = new RestoreStateMachine(this, 'Restore', { ...machine, stateMachineName: `${STATE_MACHINE_NAME_PREFIX}restore` });
  }
}
