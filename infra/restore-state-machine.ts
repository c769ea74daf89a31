// The restore state machine (JSONPath): StartRestore -> worker (task token, worker slot) -> volumes or instance; cleanup on failure, stop or timeout.
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
import { restoreTargetStatements } from './restore-grants.ts';
import { grantWorkerLaunch, orchestrationFunction } from './state-machine.ts';
import { WORKER_ROLE_NAME_PREFIX } from './tags.ts';

export { RESTORE_TAG_KEY } from './restore-grants.ts';

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
  /** Between checks of the snapshot copies of an instance restored into a member account. @default Duration.minutes(1) */
  readonly copyPollInterval?: Duration;
  /** @default 600 */
  readonly maxCopyChecks?: number;
}

interface PollLoop {
  /** State names: Pass (count 0), Wait, Pass (count + 1), Choice, Fail. */
  names: [string, string, string, string, string];
  /** The first call (starts the work) and the repeated one (checks it); both report `flag`. */
  first: sfn.INextable & sfn.IChainable;
  check: sfn.INextable & sfn.IChainable;
  flag: string;
  interval: Duration;
  max: number;
  error: string;
  cause: string;
  done: sfn.IChainable;
}

/** Restore runs on its own: a failed step, a StopExecution and an execution timeout all end in RestoreCleanup. */
export class RestoreStateMachine extends Construct {
  readonly stateMachine: sfn.StateMachine;
  readonly functions: Record<string, nodejs.NodejsFunction> = {};

  constructor(scope: Construct, id: string, props: RestoreStateMachineProps) {
    super(scope, id);
    const shared = props.orchestrationRole;
    const fn = (name: string, file: string, own: 'read' | 'readWrite' | undefined, environment: Record<string, string> = {}) =>
      (this.functions[name] = orchestrationFunction(this, name, file, { ...props, access: own ?? 'read', role: own ? undefined : shared, environment }));
    const start = fn('StartRestoreFunction', 'restore-start', 'read');
    // The worker launcher takes one of the account's worker slots (a conditional write); ReleaseRestoreSlot gives it back.
    const worker = fn('StartRestoreWorkerFunction', 'restore-start-worker', 'readWrite', { CLOUDKEEP_WORKER_LAUNCH_TEMPLATE: props.workerLaunchTemplate, CLOUDKEEP_WORKER_KEY: props.workerKeySpec });
    grantWorkerLaunch(worker);
    const releaseSlot = fn('ReleaseRestoreSlotFunction', 'restore-release-slot', 'readWrite');
    const createVolumes = fn('CreateRestoredVolumesFunction', 'restore-create-volumes', undefined);
    const checkVolumes = fn('CheckRestoredVolumesFunction', 'restore-check-volumes', undefined);
    const copySnapshots = fn('CopyInstanceSnapshotsFunction', 'restore-copy-snapshots', undefined);
    const runInstance = fn('RunRestoredInstanceFunction', 'restore-run-instance', undefined);
    const cleanup = fn('RestoreCleanupFunction', 'restore-cleanup', undefined);
    for (const s of restoreTargetStatements('own')) shared.addToPrincipalPolicy(s);

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
    // Every worker slot of the account is taken (backup or other restore workers): wait for one, like StartWorker.
    workerTask.addRetry({ errors: ['Cloudkeep.WorkerSlotsBusy'], interval: Duration.minutes(1), backoffRate: 1.5, maxDelay: Duration.minutes(10), jitterStrategy: sfn.JitterType.FULL, maxAttempts: 80 });
    const release = invoke('ReleaseRestoreSlot', releaseSlot, { restoreId, account: sfn.JsonPath.stringAt('$.restore.account') }, sfn.JsonPath.DISCARD);
    const done = new sfn.Succeed(this, 'RestoreDone');
    const restoredOf = { restore: at('$.restore'), restored: at('$.restored') };
    const maxChecks = props.maxVolumeChecks ?? 80;
    const volumes = this.poll({
      names: ['InitVolumeChecks', 'WaitForVolumes', 'CountVolumeCheck', 'VolumesAvailable', 'VolumesTimedOut'],
      first: invoke('CreateRestoredVolumes', createVolumes, restoredOf, '$.volumes'),
      check: invoke('CheckRestoredVolumes', checkVolumes, { restore: at('$.restore'), volumes: at('$.volumes') }, '$.volumes'),
      flag: '$.volumes.available', interval: props.volumePollInterval ?? Duration.seconds(15), max: maxChecks,
      error: 'Cloudkeep.VolumeTimeout', cause: `the restored volumes were not available within ${maxChecks} status checks`, done,
    });
    const instance = invoke('RunRestoredInstance', runInstance, { ...restoredOf, copies: at('$.copies') }, '$.instance').next(done);
    // Into a member account, the instance's snapshots are copied there first (shared, then CopySnapshot with the member role).
    const maxCopyChecks = props.maxCopyChecks ?? 600;
    const copies = this.poll({
      names: ['InitCopyChecks', 'WaitForCopies', 'CountCopyCheck', 'CopiesAvailable', 'CopiesTimedOut'],
      first: invoke('CopyInstanceSnapshots', copySnapshots, restoredOf, '$.copies'),
      check: invoke('CheckSnapshotCopies', copySnapshots, restoredOf, '$.copies'),
      flag: '$.copies.available', interval: props.copyPollInterval ?? Duration.minutes(1), max: maxCopyChecks,
      error: 'Cloudkeep.CopyTimeout', cause: `the snapshot copies were not completed within ${maxCopyChecks} status checks`, done: instance,
    });
    const noCopies = new sfn.Pass(this, 'NoSnapshotCopies', { result: sfn.Result.fromObject({ copies: {}, available: true }), resultPath: '$.copies' }).next(instance);
    const mode = new sfn.Choice(this, 'RestoreMode')
      .when(sfn.Condition.stringEquals('$.restore.mode', 'volume'), volumes)
      .when(sfn.Condition.and(sfn.Condition.stringEquals('$.restore.mode', 'instance'), sfn.Condition.isPresent('$.restore.target.accountId')), copies)
      .when(sfn.Condition.stringEquals('$.restore.mode', 'instance'), noCopies)
      .otherwise(done);

    // Everything after StartRestore creates resources: any failure cleans up by the restore tag, then fails the execution.
    const cleanupTask = invoke('RestoreCleanup', cleanup, { restoreId, account: sfn.JsonPath.stringAt('$.account'), target: at('$.target') }, '$.cleanup');
    cleanupTask.addCatch(failed, { errors: ['States.ALL'], resultPath: '$.cleanupError' }).next(failed);
    const restore = new sfn.Parallel(this, 'Restore', { outputPath: '$[0]' }).branch(workerTask.next(release).next(mode)).addCatch(cleanupTask, { errors: ['States.ALL'], resultPath: '$.error' });

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

  /** first -> count 0 -> wait -> count + 1 -> check -> done when `flag`, failed after `max` checks, else wait again. */
  private poll(p: PollLoop): sfn.IChainable {
    const [initName, waitName, countName, choiceName, failName] = p.names;
    const wait = new sfn.Wait(this, waitName, { time: sfn.WaitTime.duration(p.interval) });
    const init = new sfn.Pass(this, initName, { result: sfn.Result.fromObject({ count: 0 }), resultPath: '$.checks' });
    const count = new sfn.Pass(this, countName, { parameters: { count: sfn.JsonPath.mathAdd(sfn.JsonPath.numberAt('$.checks.count'), 1) }, resultPath: '$.checks' });
    const choice = new sfn.Choice(this, choiceName)
      .when(sfn.Condition.booleanEquals(p.flag, true), p.done)
      .when(sfn.Condition.numberGreaterThanEquals('$.checks.count', p.max), new sfn.Fail(this, failName, { error: p.error, cause: p.cause }))
      .otherwise(wait);
    return sfn.Chain.start(p.first).next(init).next(wait).next(count).next(p.check).next(choice);
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
