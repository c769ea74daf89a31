// Composes the Cloudkeep stacks into an App and applies cdk-nag's AWS Solutions checks to all of them.
import { Validations, type App, type Environment } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ConsoleApiStack, consoleOptionsFromContext } from './console-api-stack.ts';
import { ControlPlaneStack, SCHEDULE_GROUP_NAME } from './control-plane-stack.ts';
import { MemberAccountRoleStack } from './member-account-role.ts';
import { RepositoryStack, type RepositoryObjectLock } from './repository-stack.ts';
import { WorkerStack } from './worker-stack.ts';

/** Deployment settings, usually read from CDK context by `configFromContext`. */
export interface CloudkeepConfig {
  /** @default - env-agnostic stacks */
  readonly env?: Environment;
  /** @default 'repository' */
  readonly repositoryPrefix?: string;
  /** @default - Object Lock off */
  readonly objectLock?: RepositoryObjectLock;
  /** @default - a new VPC */
  readonly vpcId?: string;
  /** @default - CloudFormation parameters on the member-account template */
  readonly memberTrust?: { controlPlaneRoleArn: string; externalId: string };
  /** @default true */
  readonly nag?: boolean;
}

export interface CloudkeepStacks {
  readonly repository: RepositoryStack;
  readonly controlPlane: ControlPlaneStack;
  readonly worker: WorkerStack;
  readonly memberAccountRole: MemberAccountRoleStack;
  readonly consoleApi: ConsoleApiStack;
}

/** Reads the config from context (`cdk synth -c objectLockMode=GOVERNANCE -c objectLockDays=30 ...`) and CDK_DEFAULT_*. */
export function configFromContext(app: App, environment: NodeJS.ProcessEnv = process.env): CloudkeepConfig {
  const ctx = (key: string): string | undefined => {
    const value: unknown = app.node.tryGetContext(key);
    return value === undefined || value === null || value === '' ? undefined : String(value);
  };
  const account = ctx('account') ?? environment.CDK_DEFAULT_ACCOUNT;
  const region = ctx('region') ?? environment.CDK_DEFAULT_REGION;
  const mode = ctx('objectLockMode');
  if (mode !== undefined && mode !== 'GOVERNANCE' && mode !== 'COMPLIANCE') throw new Error(`objectLockMode must be GOVERNANCE or COMPLIANCE, got '${mode}'`);
  const trustArn = ctx('memberTrustedRoleArn');
  const externalId = ctx('memberExternalId');
  if ((trustArn === undefined) !== (externalId === undefined)) throw new Error('set both memberTrustedRoleArn and memberExternalId, or neither');
  return {
    env: account || region ? { account, region } : undefined,
    repositoryPrefix: ctx('repositoryPrefix'),
    objectLock: mode ? { mode, days: Number(ctx('objectLockDays') ?? 30) } : undefined,
    vpcId: ctx('vpcId'),
    memberTrust: trustArn && externalId ? { controlPlaneRoleArn: trustArn, externalId } : undefined,
  };
}

/** Adds every stack to `app`. Stack ids are deployed names: never rename them. */
export function buildCloudkeepApp(app: App, config: CloudkeepConfig = {}): CloudkeepStacks {
  const env = config.env;
  const repository = new RepositoryStack(app, 'CloudkeepRepository', {
    env,
    description: 'Cloudkeep repository bucket and key',
    prefix: config.repositoryPrefix,
    objectLock: config.objectLock,
  });
  const controlPlane = new ControlPlaneStack(app, 'CloudkeepControlPlane', { env, description: 'Cloudkeep control plane', memberExternalId: config.memberTrust?.externalId });
  const worker = new WorkerStack(app, 'CloudkeepWorker', {
    env,
    description: 'Cloudkeep worker network, role and launch template',
    repository: repository.repository,
    wrapKey: controlPlane.wrapKey,
    vpcId: config.vpcId,
  });
  const memberAccountRole = new MemberAccountRoleStack(app, 'CloudkeepMemberAccountRole', {
    description: 'Cloudkeep role for a protected member account',
    ...config.memberTrust,
  });
  const consoleApi = new ConsoleApiStack(app, 'CloudkeepConsole', {
    env,
    description: 'Cloudkeep web console: Cognito sign-in, API and CloudFront',
    table: controlPlane.table,
    repository: repository.repository,
    wrapKey: controlPlane.wrapKey,
    schedules: { groupName: SCHEDULE_GROUP_NAME, role: controlPlane.schedulerRole },
    memberExternalId: config.memberTrust?.externalId,
    ...consoleOptionsFromContext(app),
  });
  if (config.nag ?? true) Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { repository, controlPlane, worker, memberAccountRole, consoleApi };
}
