// The restore state machine (JSONPath): StartRestore -> worker (task token) -> volumes or instance; cleanup on failure, stop or timeout.
import { Aws, Duration, RemovalPolicy, Stack, Validations, type CfnElement } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as eventTargets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { grantWorkerLaunch, orchestrationFunction } from './state-machine.ts';
import { MANAGED_TAG_KEY, MANAGED_TAG_VALUE, WORKER_ROLE_NAME_PREFIX } from './tags.ts';

/** Every resource a restore creates carries this tag (core/orchestration/restore-types.ts RESTORE_TAG). */
export const RESTORE_TAG_KEY = 'cloudkeep:restore';

export interface RestoreStateMachineProps {
  readonly table: dynamodb.ITable;
  /** Must start with STATE_MACHINE_NAME_PREFIX. */
  readonly stateMachineName: string;
  readonly externalId: string;
  /** The shared role that assumes member roles; restore's EC2 rights are added to it. */
  readonly orchestrationRole: iam.IRole;
  readonly workerLaunchTemplate: string;
  readonly workerKeySpec: string;
  /** @default 10 minutes and 12 hours */
  readonly workerHeartbeat?: Duration;
  readonly workerTimeout?: Duration;
  /** @default Duration.seconds(15) */
  readonly volumePollInterval?: Duration;
  /** @default 80 */
  readonly maxVolumeChecks?: number;
}

/** Restore runs on its own: a failed step, a StopExecution and an execution timeout all end in RestoreCleanup. */
export class RestoreStateMachine extends Construct {
  readonly stateMachine: sfn.StateMachine;
  readonly functions: Record<string, nodejs.NodejsFunction> = {};

  constructor(scope: Construct, id: string, props: RestoreStateMachineProps) {
    super(scope, id);
    const shared = props.orchestrationRole;
    const fn = (name: string, file: string, own: 'read' | undefined, environment: Record<string, string> = {}) =>
      (this.functions[name] = orchestrationFunction(this, name, file, { ...props, access: own ?? 'read', role: own ? undefined : shared, environment }));
    const start = fn('StartRestoreFunction', 'restore-start', 'read');
    const worker = fn('StartRestoreWorkerFunction', 'restore-start-worker', 'read', { CLOUDKEEP_WORKER_LAUNCH_TEMPLATE: props.workerLaunchTemplate, CLOUDKEEP_WORKER_KEY: props.workerKeySpec });
    grantWorkerLaunch(worker);
    const createVolumes = fn('CreateRestoredVolumesFunction', 'restore-create-volumes', undefined);
    const checkVolumes = fn('CheckRestoredVolumesFunction', 'restore-check-volumes', undefined);
    const runInstance = fn('RunRestoredInstanceFunction', 'restore-run-instance', undefined);
    const cleanup = fn('RestoreCleanupFunction', 'restore-cleanup', undefined);
    grantRestoreTargets(shared);

    const invoke = (name: string, f: lambda.IFunction, payload: Record<string, unknown>, resultPath: string) => {
      const task = new tasks.LambdaInvoke(this, name, { stateName: name, lambdaFunction: f, payload: sfn.TaskInput.fromObject(payload), payloadResponseOnly: true, resultPath, retryOnServiceExceptions: true });
      task.addRetry({ errors: ['Cloudkeep.Retryable'], maxAttempts: 3, interval: Duration.seconds(5), backoffRate: 2 });
      return task;
    };
    const at = sfn.JsonPath.objectAt;
    const restoreId = sfn.JsonPath.stringAt('$$.Execution.Name');
    const failed = new sfn.Fail(this, 'RestoreFailed', { errorPath: '$.error.Error', causePath: '$.error.Cause' });
    const startTask = invoke('StartRestore', start, { request: at('$'), restoreId }, '$.restore').addCatch(failed, { errors: ['States.ALL'], resultPath: '$.error' });

    const workerTask = new tasks.LambdaInvoke(this, 'RestoreDisks', {
      stateName: 'RestoreDisks',
      lambdaFunction: worker,
      integrationPattern: sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
      payload: sfn.TaskInput.fromObject({ taskToken: sfn.JsonPath.taskToken, restore: at('$.restore') }),
      heartbeatTimeout: sfn.Timeout.duration(props.workerHeartbeat ?? Duration.minutes(10)),
      taskTimeout: sfn.Timeout.duration(props.workerTimeout ?? Duration.hours(12)),
      resultPath: '$.restored',
    });
    const maxChecks = props.maxVolumeChecks ?? 80;
    const wait = new sfn.Wait(this, 'WaitForVolumes', { time: sfn.WaitTime.duration(props.volumePollInterval ?? Duration.seconds(15)) });
    const initChecks = new sfn.Pass(this, 'InitVolumeChecks', { result: sfn.Result.fromObject({ count: 0 }), resultPath: '$.checks' });
    const countCheck = new sfn.Pass(this, 'CountVolumeCheck', { parameters: { count: sfn.JsonPath.mathAdd(sfn.JsonPath.numberAt('$.checks.count'), 1) }, resultPath: '$.checks' });
    const timedOut = new sfn.Fail(this, 'VolumesTimedOut', { error: 'Cloudkeep.VolumeTimeout', cause: `the restored volumes were not available within ${maxChecks} status checks` });
    const done = new sfn.Succeed(this, 'RestoreDone');
    const available = new sfn.Choice(this, 'VolumesAvailable')
      .when(sfn.Condition.booleanEquals('$.volumes.available', true), done)
      .when(sfn.Condition.numberGreaterThanEquals('$.checks.count', maxChecks), timedOut)
      .otherwise(wait);
    const volumes = invoke('CreateRestoredVolumes', createVolumes, { restore: at('$.restore'), restored: at('$.restored') }, '$.volumes')
      .next(initChecks).next(wait).next(countCheck)
      .next(invoke('CheckRestoredVolumes', checkVolumes, { restore: at('$.restore'), volumes: at('$.volumes') }, '$.volumes'))
      .next(available);
    const instance = invoke('RunRestoredInstance', runInstance, { restore: at('$.restore'), restored: at('$.restored') }, '$.instance').next(done);
    const mode = new sfn.Choice(this, 'RestoreMode')
      .when(sfn.Condition.stringEquals('$.restore.mode', 'volume'), volumes)
      .when(sfn.Condition.stringEquals('$.restore.mode', 'instance'), instance)
      .otherwise(done);

    // Everything after StartRestore creates resources: any failure cleans up by the restore tag, then fails the execution.
    const cleanupTask = invoke('RestoreCleanup', cleanup, { restoreId, account: sfn.JsonPath.stringAt('$.account'), target: at('$.target') }, '$.cleanup');
    cleanupTask.addCatch(failed, { errors: ['States.ALL'], resultPath: '$.cleanupError' }).next(failed);
    const restore = new sfn.Parallel(this, 'Restore', { outputPath: '$[0]' }).branch(workerTask.next(mode)).addCatch(cleanupTask, { errors: ['States.ALL'], resultPath: '$.error' });

    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineName: props.stateMachineName,
      definitionBody: sfn.DefinitionBody.fromChainable(startTask.next(restore)),
      timeout: Duration.hours(24),
      tracingEnabled: true,
      logs: { destination: new logs.LogGroup(this, 'StateMachineLogs', { retention: logs.RetentionDays.THREE_MONTHS, removalPolicy: RemovalPolicy.DESTROY }), level: sfn.LogLevel.ALL },
    });
    // StopExecution and the execution timeout skip every Catch: EventBridge runs the same cleanup with the execution's name and input.
    new events.Rule(this, 'StoppedRestoreCleanup', {
      description: 'Cleans up after a stopped or timed-out Cloudkeep restore',
      eventPattern: { source: ['aws.states'], detailType: ['Step Functions Execution Status Change'], detail: { status: ['ABORTED', 'TIMED_OUT'], stateMachineArn: [this.stateMachine.stateMachineArn] } },
      targets: [new eventTargets.LambdaFunction(cleanup, { event: events.RuleTargetInput.fromObject({ restoreId: events.EventField.fromPath('$.detail.name'), request: events.EventField.fromPath('$.detail.input') }), retryAttempts: 8 })],
    });
    this.acknowledgeFindings(props.table, shared, worker);
  }

  private acknowledgeFindings(table: dynamodb.ITable, shared: iam.IRole, worker: Construct): void {
    const logicalId = (c: Construct) => Stack.of(this).getLogicalId(c.node.defaultChild as CfnElement);
    const ack = (scope: Construct, id: string, reason: string) => Validations.of(scope).acknowledge({ id, reason });
    const ec2 = (type: string, account = '<AWS::AccountId>') => `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:*:${account}:${type}/*]`;
    for (const type of ['instance', 'volume', 'launch-template', 'subnet', 'security-group', 'network-interface']) ack(worker, ec2(type), 'Restore workers are launched from the worker launch template in the target region; instances and volumes only with the cloudkeep:managed request tag.');
    ack(worker, 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:*::image/*]', 'The launch template resolves the worker AMI at deploy time.');
    ack(worker, `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:iam::<AWS::AccountId>:role/${WORKER_ROLE_NAME_PREFIX}*]`, 'Only the worker stack roles, only to EC2 (iam:PassedToService).');
    const targets = 'Restores create volumes, images and instances at run time in the requested region; creation needs the cloudkeep:restore request tag, deletion the resource tag.';
    for (const type of ['instance', 'volume', 'subnet', 'security-group', 'network-interface']) ack(shared, ec2(type), targets);
    ack(shared, 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:*::image/*]', targets);
    ack(shared, 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:*::snapshot/*]', 'Restored snapshots are written per restore; sharing and deleting them needs the cloudkeep:managed tag.');
    ack(shared, 'AwsSolutions-IAM5[Resource::*]', 'EC2 Describe* calls support no resource-level permissions.');
    for (const f of Object.values(this.functions)) {
      ack(f, 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]', "The basic execution role only writes the function's own logs.");
      ack(f, `AwsSolutions-IAM5[Resource::<${logicalId(table)}.Arn>/index/*]`, 'grantReadData/grantReadWriteData on the control table include its own indexes.');
      ack(f, 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]', 'Table key grants from grantReadWriteData, limited to the control table key.');
      ack(f, 'AwsSolutions-IAM5[Action::kms:ReEncrypt*]', 'Table key grants from grantReadWriteData, limited to the control table key.');
      ack(this.stateMachine, `AwsSolutions-IAM5[Resource::<${logicalId(f)}.Arn>:*]`, 'Step Functions invokes any version/alias of its own handler functions.');
    }
    ack(this.stateMachine, 'AwsSolutions-IAM5[Resource::*]', 'X-Ray segments and CloudWatch Logs delivery support no resource-level permissions.');
  }
}

/** The shared role's restore rights in the control-plane account (member accounts grant theirs in the member role). */
function grantRestoreTargets(shared: iam.IRole): void {
  const arn = (type: string, account: string = Aws.ACCOUNT_ID) => `arn:${Aws.PARTITION}:ec2:*:${account}:${type}/*`;
  const snapshots = `arn:${Aws.PARTITION}:ec2:*::snapshot/*`;
  const images = `arn:${Aws.PARTITION}:ec2:*::image/*`;
  const requestTag = { Null: { [`aws:RequestTag/${RESTORE_TAG_KEY}`]: 'false' } };
  const resourceTag = { Null: { [`aws:ResourceTag/${RESTORE_TAG_KEY}`]: 'false' } };
  const managed = { StringEquals: { [`aws:ResourceTag/${MANAGED_TAG_KEY}`]: MANAGED_TAG_VALUE } };
  const add = (actions: string[], resources: string[], conditions?: Record<string, unknown>) => shared.addToPrincipalPolicy(new iam.PolicyStatement({ actions, resources, conditions }));
  add(['ec2:DescribeVolumes', 'ec2:DescribeInstances', 'ec2:DescribeImages', 'ec2:DescribeSnapshots'], ['*']);
  // New volumes, images and instances only with the restore tag in the request; sources are restored (managed) snapshots.
  add(['ec2:CreateVolume', 'ec2:RunInstances'], [arn('volume'), arn('instance')], requestTag);
  add(['ec2:RegisterImage'], [images], requestTag);
  add(['ec2:CreateVolume', 'ec2:RegisterImage', 'ec2:RunInstances', 'ec2:ModifySnapshotAttribute', 'ec2:DeleteSnapshot'], [snapshots], managed);
  add(['ec2:RunInstances'], [images, arn('subnet'), arn('security-group'), arn('network-interface')]);
  add(['ec2:CreateTags'], [arn('volume'), arn('instance'), images], { StringEquals: { 'ec2:CreateAction': ['CreateVolume', 'RunInstances', 'RegisterImage'] } });
  add(['ec2:DeleteVolume', 'ec2:TerminateInstances', 'ec2:DeregisterImage'], [arn('volume'), arn('instance'), images], resourceTag);
}
