// The backup state machine (JSONPath only) and its Lambda handlers, bundled with esbuild, least-privilege grants.
import { fileURLToPath } from 'node:url';
import { Aws, Duration, RemovalPolicy, Stack, Validations, type CfnElement } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { MANAGED_TAG_KEY, MANAGED_TAG_VALUE, WORKER_ROLE_NAME_PREFIX } from './tags.ts';

const ROOT = new URL('../', import.meta.url);
/** Handler entry files (bundled, never imported here). */
const entry = (name: string) => fileURLToPath(new URL(`functions/${name}.ts`, ROOT));

export interface BackupStateMachineProps {
  /** The control table (sessions, tasks, volume state, worker tokens). */
  readonly table: dynamodb.ITable;
  /** Name of the state machine; must start with STATE_MACHINE_NAME_PREFIX. */
  readonly stateMachineName: string;
  /** ExternalId the member-account roles require. */
  readonly externalId: string;
  /**
   * Name of the Cloudkeep role in member accounts.
   * @default 'cloudkeep-member'
   */
  readonly memberRoleName?: string;
  /**
   * Seconds between snapshot status checks.
   * @default Duration.seconds(30)
   */
  readonly snapshotPollInterval?: Duration;
  /**
   * Heartbeat and overall timeout of a worker.
   * @default 10 minutes and 12 hours
   */
  readonly workerHeartbeat?: Duration;
  readonly workerTimeout?: Duration;
  /**
   * Snapshot status checks before the resource fails with Cloudkeep.SnapshotTimeout.
   * @default 120
   */
  readonly maxSnapshotChecks?: number;
  /** The one role of every handler that assumes the member role (the member roles trust exactly it). */
  readonly orchestrationRole: iam.IRole;
  /** Name (or id) of the worker launch template; a name, so the worker stack need not be deployed first. */
  readonly workerLaunchTemplate: string;
  /** Key spec of the repository master key the workers use (e.g. aws-kms:<wrap key arn>). */
  readonly workerKeySpec: string;
}

export interface OrchestrationFunctionProps {
  readonly table: dynamodb.ITable;
  readonly externalId: string;
  /** The control table access of a function with its own role. */
  readonly access: 'read' | 'write' | 'readWrite';
  /** The shared orchestration role (handlers that assume member roles); the table grant is then the role's. */
  readonly role?: iam.IRole;
  readonly environment?: Record<string, string>;
  /** @default Duration.minutes(2) */
  readonly timeout?: Duration;
}

/** One orchestration handler: `functions/<file>.ts` bundled as ESM for Node 24 on ARM, with its own log group and table grant. */
export function orchestrationFunction(scope: Construct, name: string, file: string, props: OrchestrationFunctionProps): nodejs.NodejsFunction {
  const logGroup = new logs.LogGroup(scope, `${name}Logs`, { retention: logs.RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.DESTROY });
  const f = new nodejs.NodejsFunction(scope, name, {
    entry: entry(file),
    projectRoot: fileURLToPath(ROOT),
    depsLockFilePath: fileURLToPath(new URL('package-lock.json', ROOT)),
    runtime: lambda.Runtime.NODEJS_24_X,
    architecture: lambda.Architecture.ARM_64,
    memorySize: 512,
    timeout: props.timeout ?? Duration.minutes(2),
    logGroup,
    ...(props.role ? { role: props.role } : {}),
    environment: { CONTROL_TABLE_NAME: props.table.tableName, CLOUDKEEP_EXTERNAL_ID: props.externalId, POWERTOOLS_SERVICE_NAME: 'cloudkeep-orchestration', ...props.environment },
    bundling: {
      forceDockerBundling: false,
      format: nodejs.OutputFormat.ESM,
      target: 'node24',
      mainFields: ['module', 'main'],
      banner: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
      externalModules: [],
    },
  });
  // A shared role gets no basic execution policy: only its functions' own log groups.
  if (props.role) logGroup.grantWrite(props.role);
  else if (props.access === 'read') props.table.grantReadData(f);
  else if (props.access === 'write') props.table.grantWriteData(f);
  else props.table.grantReadWriteData(f);
  return f;
}

/**
 * LoadPolicy -> (skipped: end) Discover -> Map(snapshots, bounded wait loop, worker (cleaned up on failure), prune; each item caught) -> RecordSession.
 * A failed LoadPolicy or Discover ends the run failed; once a session exists, FailSession records it failed first.
 */
export class BackupStateMachine extends Construct {
  readonly stateMachine: sfn.StateMachine;
  readonly functions: Record<string, nodejs.NodejsFunction> = {};

  constructor(scope: Construct, id: string, props: BackupStateMachineProps) {
    super(scope, id);
    const memberRoleArn = `arn:${Aws.PARTITION}:iam::*:role/${props.memberRoleName ?? 'cloudkeep-member'}`;
    const shared = props.orchestrationRole;
    // The shared role reads and writes the table (the union of its handlers' needs) and assumes member roles.
    props.table.grantReadWriteData(shared);
    shared.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['sts:AssumeRole'], resources: [memberRoleArn] }));
    const fn = (name: string, file: string, access: 'read' | 'write' | 'readWrite', assumeMember: boolean, environment: Record<string, string> = {}, timeout?: Duration) =>
      (this.functions[name] = orchestrationFunction(this, name, file, { ...props, access, role: assumeMember ? shared : undefined, environment, timeout }));
    const loadPolicy = fn('LoadPolicyFunction', 'load-policy', 'readWrite', false);
    const discover = fn('DiscoverFunction', 'discover', 'readWrite', true);
    // An instance's pre- and post-script may take 60 s each (core/orchestration/app-consistency.ts SCRIPT_WAIT_SECONDS):
    // the Lambda must outlive both, or an application could stay frozen.
    const take = fn('TakeSnapshotsFunction', 'take-snapshots', 'readWrite', true, {}, Duration.minutes(3));
    const check = fn('CheckSnapshotsFunction', 'check-snapshots', 'read', true);
    const prune = fn('PruneSnapshotsFunction', 'prune-snapshots', 'read', true);
    const startWorker = fn('StartWorkerFunction', 'start-worker', 'readWrite', false, { CLOUDKEEP_WORKER_LAUNCH_TEMPLATE: props.workerLaunchTemplate, CLOUDKEEP_WORKER_KEY: props.workerKeySpec });
    const cleanup = fn('CleanupWorkerFunction', 'cleanup-worker', 'readWrite', true);
    grantWorkerLaunch(startWorker, shared);
    const record = fn('RecordSessionFunction', 'record-session', 'readWrite', false);

    // payloadResponseOnly: the function gets the state input (or `payload`) and its return is the result
    // (resultPath undefined: the result replaces the state, without a ResultPath "$" that some runners mishandle).
    const invoke = (name: string, f: lambda.IFunction, payload: sfn.TaskInput | undefined, resultPath: string | undefined, inputPath?: string) => {
      const task = new tasks.LambdaInvoke(this, name, { stateName: name, lambdaFunction: f, payload, inputPath, payloadResponseOnly: true, resultPath, retryOnServiceExceptions: true });
      task.addRetry({ errors: ['Cloudkeep.Retryable'], maxAttempts: 3, interval: Duration.seconds(5), backoffRate: 2 });
      return task;
    };
    const whole = undefined;

    const takeSnapshots = invoke('TakeSnapshots', take, whole, '$.snapshots');
    const wait = new sfn.Wait(this, 'WaitForSnapshots', { time: sfn.WaitTime.duration(props.snapshotPollInterval ?? Duration.seconds(30)) });
    const maxChecks = props.maxSnapshotChecks ?? 120;
    const initChecks = new sfn.Pass(this, 'InitSnapshotChecks', { result: sfn.Result.fromObject({ count: 0 }), resultPath: '$.checks' });
    const countCheck = new sfn.Pass(this, 'CountSnapshotCheck', {
      parameters: { count: sfn.JsonPath.mathAdd(sfn.JsonPath.numberAt('$.checks.count'), 1) },
      resultPath: '$.checks',
    });
    const checksExhausted = new sfn.Fail(this, 'SnapshotsTimedOut', { error: 'Cloudkeep.SnapshotTimeout', cause: `the snapshots did not complete within ${maxChecks} status checks` });
    const checkSnapshots = invoke('CheckSnapshots', check, whole, '$.snapshots');
    const pruneSnapshots = invoke('PruneSnapshots', prune, whole, undefined);
    const worker = new tasks.LambdaInvoke(this, 'StartWorker', {
      stateName: 'StartWorker',
      lambdaFunction: startWorker,
      integrationPattern: sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
      payload: sfn.TaskInput.fromObject({ taskToken: sfn.JsonPath.taskToken, item: sfn.JsonPath.objectAt('$') }),
      heartbeatTimeout: sfn.Timeout.duration(props.workerHeartbeat ?? Duration.minutes(10)),
      taskTimeout: sfn.Timeout.duration(props.workerTimeout ?? Duration.hours(12)),
      resultPath: '$.worker',
    });
    // Every worker slot of the account is taken (other policies' workers read EBS): wait for one, up to the worker timeout.
    worker.addRetry({ errors: ['Cloudkeep.WorkerSlotsBusy'], interval: Duration.minutes(1), backoffRate: 1.5, maxDelay: Duration.minutes(10), jitterStrategy: sfn.JitterType.FULL, maxAttempts: 80 });
    // A failed or timed-out worker: terminate it, delete the run's snapshots, fail the task; the item ends with that result.
    worker.addCatch(invoke('CleanupWorker', cleanup, whole, undefined), { errors: ['States.Timeout', 'States.HeartbeatTimeout', 'States.TaskFailed'], resultPath: '$.workerError' });
    const backupDue = new sfn.Choice(this, 'BackupDue')
      .when(sfn.Condition.booleanEquals('$.backupDue', true), worker.next(pruneSnapshots))
      .otherwise(pruneSnapshots);
    const complete = new sfn.Choice(this, 'SnapshotsComplete')
      .when(sfn.Condition.booleanEquals('$.snapshots.complete', true), backupDue)
      .when(sfn.Condition.numberGreaterThanEquals('$.checks.count', maxChecks), checksExhausted)
      .otherwise(wait);
    const perResource = takeSnapshots.next(initChecks).next(wait).next(countCheck).next(checkSnapshots).next(complete);

    const resourceFailed = new sfn.Pass(this, 'ResourceFailed', {
      parameters: { resource: sfn.JsonPath.objectAt('$.resource'), status: 'failed', error: sfn.JsonPath.objectAt('$.error') },
    });
    const protect = new sfn.Parallel(this, 'ProtectResource', { outputPath: '$[0]' }).branch(perResource).addCatch(resourceFailed, { errors: ['States.ALL'], resultPath: '$.error' });
    const map = new sfn.Map(this, 'ProtectResources', { itemsPath: '$.discovery.items', maxConcurrencyPath: '$.run.maxConcurrency', resultPath: '$.results' });
    map.itemProcessor(protect);

    const recordSession = invoke('RecordSession', record, sfn.TaskInput.fromObject({ run: sfn.JsonPath.objectAt('$.run'), results: sfn.JsonPath.listAt('$.results') }), undefined);
    const outcome = new sfn.Choice(this, 'SessionOutcome')
      .when(sfn.Condition.stringEquals('$.status', 'failed'), new sfn.Fail(this, 'SessionFailed', { error: 'Cloudkeep.SessionFailed', cause: 'every resource of the session failed' }))
      .otherwise(new sfn.Succeed(this, 'SessionDone'));

    // Before the Map: LoadPolicy opens no session unless it succeeds; after it, FailSession closes the session failed.
    const runFailed = new sfn.Fail(this, 'RunFailed', { errorPath: '$.error.Error', causePath: '$.error.Cause' });
    const failSession = invoke('FailSession', record, sfn.TaskInput.fromObject({ run: sfn.JsonPath.objectAt('$.run'), results: [], failure: sfn.JsonPath.objectAt('$.error') }), '$.outcome');
    failSession.next(runFailed);
    const loadPolicyTask = invoke('LoadPolicy', loadPolicy, whole, '$.run').addCatch(runFailed, { errors: ['States.ALL'], resultPath: '$.error' });
    const discoverTask = invoke('Discover', discover, undefined, '$.discovery', '$.run').addCatch(failSession, { errors: ['States.ALL'], resultPath: '$.error' });
    // A scheduled run of a disabled policy: LoadPolicy recorded nothing ($.run.skipped), the run ends at once.
    const skipDisabled = new sfn.Choice(this, 'SkipDisabledRun')
      .when(sfn.Condition.booleanEquals('$.run.skipped', true), new sfn.Succeed(this, 'RunSkipped'))
      .otherwise(discoverTask);
    discoverTask
      .next(map)
      .next(recordSession)
      .next(outcome);
    const definition = loadPolicyTask.next(skipDisabled);

    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineName: props.stateMachineName,
      definitionBody: sfn.DefinitionBody.fromChainable(definition),
      timeout: Duration.hours(24),
      tracingEnabled: true,
      logs: { destination: new logs.LogGroup(this, 'StateMachineLogs', { retention: logs.RetentionDays.THREE_MONTHS, removalPolicy: RemovalPolicy.DESTROY }), level: sfn.LogLevel.ALL },
    });
    this.acknowledgeFindings(props.table, props.memberRoleName ?? 'cloudkeep-member', shared, startWorker);
  }

  private acknowledgeFindings(table: dynamodb.ITable, memberRoleName: string, shared: iam.IRole, startWorker: Construct): void {
    const logicalId = (c: Construct) => Stack.of(this).getLogicalId(c.node.defaultChild as CfnElement);
    const ack = (scope: Construct, id: string, reason: string) => Validations.of(scope).acknowledge({ id, reason });
    const ec2 = (type: string) => `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:*:<AWS::AccountId>:${type}/*]`;
    const launch = 'Workers are launched per run in any worker region of this account; instances and volumes only with the cloudkeep:managed request tag.';
    ack(startWorker, ec2('instance'), launch);
    ack(startWorker, ec2('volume'), launch);
    for (const type of ['launch-template', 'subnet', 'security-group', 'network-interface']) ack(startWorker, ec2(type), 'Policies choose worker subnets per region; the launch template fixes image, role and security group.');
    ack(startWorker, 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:*::image/*]', 'The launch template resolves the worker AMI at deploy time (public Amazon Linux images).');
    ack(startWorker, `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:iam::<AWS::AccountId>:role/${WORKER_ROLE_NAME_PREFIX}*]`, 'Only the worker stack roles, only to EC2 (iam:PassedToService).');
    ack(shared, ec2('instance'), 'CleanupWorker terminates worker instances launched per run; only those tagged cloudkeep:managed.');
    for (const f of [...Object.values(this.functions), shared]) {
      ack(f, 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]', "The basic execution role only writes the function's own logs.");
      ack(f, `AwsSolutions-IAM5[Resource::<${logicalId(table)}.Arn>/index/*]`, 'grantReadData/grantWriteData on the control table include its own indexes.');
      ack(f, 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]', 'Table key grants from grantReadWriteData, limited to the control table key.');
      ack(f, 'AwsSolutions-IAM5[Action::kms:ReEncrypt*]', 'Table key grants from grantReadWriteData, limited to the control table key.');
      ack(f, `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:iam::*:role/${memberRoleName}]`, 'Member accounts are listed in policies, not known at deploy time; the role name and its ExternalId limit the grant.');
      ack(this.stateMachine, `AwsSolutions-IAM5[Resource::<${logicalId(f)}.Arn>:*]`, 'Step Functions invokes any version/alias of its own handler functions.');
    }
    ack(this.stateMachine, 'AwsSolutions-IAM5[Resource::*]', 'X-Ray segments and CloudWatch Logs delivery support no resource-level permissions.');
  }
}

/** StartWorker launches workers from the launch template, tagged cloudkeep:managed; the shared role may terminate only those. */
export function grantWorkerLaunch(startWorker: nodejs.NodejsFunction, shared?: iam.IRole): void {
  const ec2 = (type: string, account: string = Aws.ACCOUNT_ID) => `arn:${Aws.PARTITION}:ec2:*:${account}:${type}/*`;
  const managed = { [`aws:RequestTag/${MANAGED_TAG_KEY}`]: MANAGED_TAG_VALUE };
  startWorker.addToRolePolicy(new iam.PolicyStatement({ actions: ['ec2:RunInstances'], resources: [ec2('instance'), ec2('volume')], conditions: { StringEquals: managed } }));
  startWorker.addToRolePolicy(new iam.PolicyStatement({
    actions: ['ec2:RunInstances'],
    resources: [ec2('launch-template'), ec2('subnet'), ec2('security-group'), ec2('network-interface'), `arn:${Aws.PARTITION}:ec2:*::image/*`],
  }));
  startWorker.addToRolePolicy(new iam.PolicyStatement({ actions: ['ec2:CreateTags'], resources: [ec2('instance'), ec2('volume')], conditions: { StringEquals: { 'ec2:CreateAction': 'RunInstances' } } }));
  startWorker.addToRolePolicy(new iam.PolicyStatement({
    actions: ['iam:PassRole'],
    resources: [`arn:${Aws.PARTITION}:iam::${Aws.ACCOUNT_ID}:role/${WORKER_ROLE_NAME_PREFIX}*`],
    conditions: { StringEquals: { 'iam:PassedToService': 'ec2.amazonaws.com' } },
  }));
  shared?.addToPrincipalPolicy(new iam.PolicyStatement({
    actions: ['ec2:TerminateInstances'],
    resources: [ec2('instance')],
    conditions: { StringEquals: { [`aws:ResourceTag/${MANAGED_TAG_KEY}`]: MANAGED_TAG_VALUE } },
  }));
}
