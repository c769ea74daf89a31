// The console's API: the router Lambda (functions/api/lambda-handler.ts) behind an HTTP API whose
// every route needs a Cognito ID token, with stage throttling and JSON access logs.
import { fileURLToPath } from 'node:url';
import { Aws, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpUserPoolAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type * as cognito from 'aws-cdk-lib/aws-cognito';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { STATE_MACHINE_NAME_PREFIX } from './control-plane-stack.ts';
import type { RepositoryBucket } from './repository-stack.ts';
import { SCHEDULE_PREFIX } from '../core/policy/scheduler-port.ts';
import { readRoleName } from '../core/orchestration/member-roles.ts';

const ROOT = new URL('../', import.meta.url);

// HTTP API $context variables (REST API ones such as $context.identity.caller do not exist here).
const ACCESS_LOG_FIELDS = {
  requestId: '$context.requestId',
  time: '$context.requestTimeEpoch',
  ip: '$context.identity.sourceIp',
  userAgent: '$context.identity.userAgent',
  method: '$context.httpMethod',
  path: '$context.path',
  routeKey: '$context.routeKey',
  status: '$context.status',
  responseLength: '$context.responseLength',
  latencyMs: '$context.responseLatency',
  user: '$context.authorizer.claims.cognito:username',
  authorizerError: '$context.authorizer.error',
  integrationError: '$context.integrationErrorMessage',
};

/** The control plane's state machines (infra/control-plane-stack.ts), by their fixed names in this account and region. */
const BACKUP = `${STATE_MACHINE_NAME_PREFIX}backup`;
const RESTORE = `${STATE_MACHINE_NAME_PREFIX}restore`;
const stateMachineArn = (type: 'stateMachine' | 'execution', name: string) => `arn:${Aws.PARTITION}:states:${Aws.REGION}:${Aws.ACCOUNT_ID}:${type}:${name}`;

export interface ConsoleHttpApiProps {
  /** The control table (policies, sessions, tasks: read and written by the API), in another stack. */
  readonly table: dynamodb.ITable;
  /** The repository restore points are read from. */
  readonly repository: RepositoryBucket;
  /** Unwraps the repository master key (the KMS key provider's key): decrypt only. */
  readonly wrapKey: kms.IKey;
  /** The member roles' ExternalId: the API discovers resources and lists snapshots through them (plans, dashboard, timelines). */
  readonly memberExternalId: string;
  /** The control plane's schedule group and scheduler role: policies saved, enabled or disabled in the console update their schedules. */
  readonly schedules: { readonly groupName: string; readonly role: iam.IRole };
  /**
   * Name of the Cloudkeep role in member accounts.
   * @default 'cloudkeep-member'
   */
  readonly memberRoleName?: string;
  /**
   * Steady-state requests per second and burst of the whole API.
   * @default { rateLimit: 25, burstLimit: 50 }
   */
  readonly throttle?: apigw.ThrottleSettings;
}

export class ConsoleHttpApi extends Construct {
  readonly function: nodejs.NodejsFunction;
  readonly httpApi: apigw.HttpApi;
  readonly stage: apigw.HttpStage;

  constructor(scope: Construct, id: string, props: ConsoleHttpApiProps) {
    super(scope, id);
    const logGroup = new logs.LogGroup(this, 'FunctionLogs', { retention: logs.RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.DESTROY });
    const repo = props.repository;
    // Seen through an export with a fixed name (not a hashed automatic one), so the index-wildcard
    // acknowledgement below can name it.
    const tableStack = Stack.of(props.table);
    const tableExport = `${tableStack.stackName}-ControlTableArn`;
    const table = dynamodb.Table.fromTableAttributes(this, 'ControlTable', {
      tableArn: tableStack.exportValue(props.table.tableArn, { name: tableExport }),
      encryptionKey: props.table.encryptionKey,
    });
    this.function = new nodejs.NodejsFunction(this, 'Function', {
      description: 'Cloudkeep console API',
      entry: fileURLToPath(new URL('functions/api/lambda-handler.ts', ROOT)),
      projectRoot: fileURLToPath(ROOT),
      depsLockFilePath: fileURLToPath(new URL('package-lock.json', ROOT)),
      runtime: lambda.Runtime.NODEJS_24_X,
      // x86_64: the repository code hashes with @napi-rs/blake-hash, whose installed native binary is linux-x64-gnu.
      architecture: lambda.Architecture.X86_64,
      memorySize: 1024,
      // API Gateway gives up after 30 s.
      timeout: Duration.seconds(29),
      logGroup,
      environment: {
        CONTROL_TABLE_NAME: table.tableName,
        CLOUDKEEP_REPOSITORY: `s3://${repo.bucket.bucketName}/${repo.prefix}`,
        CLOUDKEEP_KEY: `aws-kms:${props.wrapKey.keyArn}`,
        POWERTOOLS_SERVICE_NAME: 'cloudkeep-api',
        CLOUDKEEP_BACKUP_STATE_MACHINE_ARN: stateMachineArn('stateMachine', BACKUP),
        CLOUDKEEP_RESTORE_STATE_MACHINE_ARN: stateMachineArn('stateMachine', RESTORE),
        CLOUDKEEP_EXTERNAL_ID: props.memberExternalId,
        CLOUDKEEP_SCHEDULE_GROUP: props.schedules.groupName,
        CLOUDKEEP_SCHEDULER_ROLE_ARN: props.schedules.role.roleArn,
      },
      // The ESM bundle of the orchestration handlers (infra/state-machine.ts), plus the native hash binary copied next to it.
      bundling: { forceDockerBundling: false, format: nodejs.OutputFormat.ESM, target: 'node24', mainFields: ['module', 'main'], externalModules: [], loader: { '.node': 'copy' },
        banner: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
    });
    table.grantReadWriteData(this.function);
    repo.grantRead(this.function);
    props.wrapKey.grantDecrypt(this.function);
    const memberRoleName = props.memberRoleName ?? 'cloudkeep-member';
    this.grantOrchestration(memberRoleName);
    this.grantSchedules(props.schedules.groupName, props.schedules.role);

    this.httpApi = new apigw.HttpApi(this, 'HttpApi', { apiName: 'cloudkeep-console', description: 'Cloudkeep console API (reached through CloudFront under /api)', createDefaultStage: false });
    const accessLogs = new logs.LogGroup(this, 'AccessLogs', { retention: logs.RetentionDays.THREE_MONTHS, removalPolicy: RemovalPolicy.DESTROY });
    this.stage = this.httpApi.addStage('DefaultStage', {
      stageName: '$default',
      autoDeploy: true,
      throttle: props.throttle ?? { rateLimit: 25, burstLimit: 50 },
      accessLogSettings: { destination: new apigw.LogGroupLogDestination(accessLogs), format: AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FIELDS)) },
    });
    this.acknowledgeFindings(tableExport, memberRoleName, props.schedules.groupName);
  }

  /** Run now and restores (the state machines and the restores' executions, nothing else) and the member roles (read through discovery). */
  private grantOrchestration(memberRoleName: string): void {
    const add = (actions: string[], resources: string[]) => this.function.addToRolePolicy(new iam.PolicyStatement({ actions, resources }));
    add(['states:StartExecution'], [stateMachineArn('stateMachine', BACKUP), stateMachineArn('stateMachine', RESTORE)]);
    add(['states:ListExecutions'], [stateMachineArn('stateMachine', RESTORE)]);
    add(['states:DescribeExecution', 'states:StopExecution'], [stateMachineArn('execution', `${RESTORE}:*`)]);
    add(['sts:AssumeRole'], [`arn:${Aws.PARTITION}:iam::*:role/${readRoleName(memberRoleName)}`]);
  }

  /** Cloudkeep's schedules in the control plane's group only (named cloudkeep-*), and passing the scheduler role to EventBridge Scheduler only. */
  private grantSchedules(groupName: string, role: iam.IRole): void {
    this.function.addToRolePolicy(new iam.PolicyStatement({
      actions: ['scheduler:GetSchedule', 'scheduler:CreateSchedule', 'scheduler:UpdateSchedule', 'scheduler:DeleteSchedule'],
      resources: [`arn:${Aws.PARTITION}:scheduler:${Aws.REGION}:${Aws.ACCOUNT_ID}:schedule/${groupName}/${SCHEDULE_PREFIX}*`],
    }));
    this.function.addToRolePolicy(new iam.PolicyStatement({
      actions: ['iam:PassRole'], resources: [role.roleArn], conditions: { StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' } },
    }));
  }

  /** Routes every path to the function, each behind a JWT authorizer that accepts ID tokens of `client` only. */
  protect(userPool: cognito.IUserPool, client: cognito.IUserPoolClient): void {
    const authorizer = new HttpUserPoolAuthorizer('ConsoleUserPool', userPool, { userPoolClients: [client], identitySource: ['$request.header.Authorization'] });
    const integration = new HttpLambdaIntegration('Router', this.function, { payloadFormatVersion: apigw.PayloadFormatVersion.VERSION_2_0 });
    this.httpApi.addRoutes({ path: '/{proxy+}', methods: [apigw.HttpMethod.ANY], integration, authorizer });
    this.function.addEnvironment('USER_POOL_ID', userPool.userPoolId);
    this.function.addEnvironment('USER_POOL_CLIENT_ID', client.userPoolClientId);
  }

  private acknowledgeFindings(tableExport: string, memberRoleName: string, groupName: string): void {
    Validations.of(this.function).acknowledge(
      { id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:${RESTORE}:*]`, reason: 'Restores are executions of the restore state machine named at run time; only Describe and Stop on them.' },
      { id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:iam::*:role/${readRoleName(memberRoleName)}]`, reason: "Member accounts are listed in policies, not known at deploy time; only the members' read-only role, and its ExternalId limits the grant." },
      { id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:scheduler:<AWS::Region>:<AWS::AccountId>:schedule/${groupName}/${SCHEDULE_PREFIX}*]`, reason: "Policies' schedules are named per policy at run time; only Cloudkeep's (cloudkeep-*) in the control plane's group." },
      { id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]', reason: "The basic execution role only writes the function's own logs." },
      { id: `AwsSolutions-IAM5[Resource::${tableExport}/index/*]`, reason: 'grantReadWriteData on the control table includes its own indexes (sessions by time).' },
      { id: 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]', reason: 'Table key grants from grantReadWriteData, limited to the control table key.' },
      { id: 'AwsSolutions-IAM5[Action::kms:ReEncrypt*]', reason: 'Table key grants from grantReadWriteData, limited to the control table key.' },
    );
  }
}

