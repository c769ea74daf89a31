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
}

/** LoadPolicy -> Discover -> Map(snapshots, wait loop, worker, prune; each item caught) -> RecordSession. */
export class BackupStateMachine extends Construct {
  readonly stateMachine: sfn.StateMachine;
  readonly functions: Record<string, nodejs.NodejsFunction> = {};

  constructor(scope: Construct, id: string, props: BackupStateMachineProps) {
    super(scope, id);
    const memberRoleArn = `arn:${Aws.PARTITION}:iam::*:role/${props.memberRoleName ?? 'cloudkeep-member'}`;
    const fn = (name: string, file: string, access: 'read' | 'write' | 'readWrite', assumeMember: boolean) => {
      const f = new nodejs.NodejsFunction(this, name, {
        entry: entry(file),
        projectRoot: fileURLToPath(ROOT),
        depsLockFilePath: fileURLToPath(new URL('package-lock.json', ROOT)),
        runtime: lambda.Runtime.NODEJS_24_X,
        architecture: lambda.Architecture.ARM_64,
        memorySize: 512,
        timeout: Duration.minutes(2),
        logGroup: new logs.LogGroup(this, `${name}Logs`, { retention: logs.RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.DESTROY }),
        environment: { CONTROL_TABLE_NAME: props.table.tableName, CLOUDKEEP_EXTERNAL_ID: props.externalId, POWERTOOLS_SERVICE_NAME: 'cloudkeep-orchestration' },
        bundling: {
          forceDockerBundling: false,
          format: nodejs.OutputFormat.ESM,
          target: 'node24',
          mainFields: ['module', 'main'],
          banner: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
          externalModules: [],
        },
      });
      if (access === 'read') props.table.grantReadData(f);
      else if (access === 'write') props.table.grantWriteData(f);
      else props.table.grantReadWriteData(f);
      if (assumeMember) f.addToRolePolicy(new iam.PolicyStatement({ actions: ['sts:AssumeRole'], resources: [memberRoleArn] }));
      this.functions[name] = f;
      return f;
    };
    const loadPolicy = fn('LoadPolicyFunction', 'load-policy', 'readWrite', false);
    const discover = fn('DiscoverFunction', 'discover', 'readWrite', true);
    const take = fn('TakeSnapshotsFunction', 'take-snapshots', 'readWrite', true);
    const check = fn('CheckSnapshotsFunction', 'check-snapshots', 'read', true);
    const prune = fn('PruneSnapshotsFunction', 'prune-snapshots', 'read', true);
    const startWorker = fn('StartWorkerFunction', 'start-worker', 'write', false);
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
    const backupDue = new sfn.Choice(this, 'BackupDue')
      .when(sfn.Condition.booleanEquals('$.backupDue', true), worker.next(pruneSnapshots))
      .otherwise(pruneSnapshots);
    const complete = new sfn.Choice(this, 'SnapshotsComplete').when(sfn.Condition.booleanEquals('$.snapshots.complete', true), backupDue).otherwise(wait);
    const perResource = takeSnapshots.next(wait).next(checkSnapshots).next(complete);

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

    const definition = invoke('LoadPolicy', loadPolicy, whole, '$.run')
      .next(invoke('Discover', discover, undefined, '$.discovery', '$.run'))
      .next(map)
      .next(recordSession)
      .next(outcome);

    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineName: props.stateMachineName,
      definitionBody: sfn.DefinitionBody.fromChainable(definition),
      timeout: Duration.hours(24),
      tracingEnabled: true,
      logs: { destination: new logs.LogGroup(this, 'StateMachineLogs', { retention: logs.RetentionDays.THREE_MONTHS, removalPolicy: RemovalPolicy.DESTROY }), level: sfn.LogLevel.ALL },
    });
    this.acknowledgeFindings(props.table, props.memberRoleName ?? 'cloudkeep-member');
  }

  private acknowledgeFindings(table: dynamodb.ITable, memberRoleName: string): void {
    const logicalId = (c: Construct) => Stack.of(this).getLogicalId(c.node.defaultChild as CfnElement);
    const ack = (scope: Construct, id: string, reason: string) => Validations.of(scope).acknowledge({ id, reason });
    for (const f of Object.values(this.functions)) {
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
