// The web console in AWS: Cognito sign-in, the API Lambda behind an HTTP API, and CloudFront serving
// the built console (dist/console) with /api/* routed to the API on the same origin.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Annotations, CfnOutput, CfnParameter, Stack, Token, Validations, type App, type CfnElement, type StackProps } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as s3deploy from 'aws-cdk-lib/aws-s3-deployment';
import { Construct } from 'constructs';
import { ConsoleUserPool } from './console-auth.ts';
import { ConsoleHosting, type ConsoleCustomDomain } from './console-hosting.ts';
import { ConsoleHttpApi, type ConsoleHttpApiProps } from './console-http-api.ts';
import type { RepositoryBucket } from './repository-stack.ts';

/** Where `npm run build:console` puts the console. */
export const DEFAULT_CONSOLE_DIR = fileURLToPath(new URL('../dist/console', import.meta.url));

export interface ConsoleApiStackProps extends StackProps {
  readonly table: dynamodb.ITable;
  readonly repository: RepositoryBucket;
  readonly wrapKey: kms.IKey;
  /** The control plane's schedule group and scheduler role (see ConsoleHttpApiProps). */
  readonly schedules: ConsoleHttpApiProps['schedules'];
  /**
   * The built console; deployed only when it holds index.html at synth time.
   * @default DEFAULT_CONSOLE_DIR
   */
  readonly consoleDir?: string;
  /** @default - the distribution's *.cloudfront.net name */
  readonly customDomain?: ConsoleCustomDomain;
  /** @default 'cloudkeep-<account id>' */
  readonly authDomainPrefix?: string;
  /**
   * ExternalId the member-account roles require (the control plane's).
   * @default - a CloudFormation parameter `MemberExternalId`
   */
  readonly memberExternalId?: string;
}

/** Console options from context: `-c consoleDomainName=backup.example.com -c consoleCertificateArn=arn:... -c consoleAuthDomainPrefix=...`. */
export function consoleOptionsFromContext(app: App): Pick<ConsoleApiStackProps, 'customDomain' | 'authDomainPrefix'> {
  const ctx = (key: string): string | undefined => {
    const value: unknown = app.node.tryGetContext(key);
    return value === undefined || value === null || value === '' ? undefined : String(value);
  };
  const domainName = ctx('consoleDomainName');
  const certificateArn = ctx('consoleCertificateArn');
  if ((domainName === undefined) !== (certificateArn === undefined)) throw new Error('set both consoleDomainName and consoleCertificateArn (an ACM certificate in us-east-1), or neither');
  return {
    customDomain: domainName && certificateArn ? { domainNames: [domainName], certificateArn } : undefined,
    authDomainPrefix: ctx('consoleAuthDomainPrefix'),
  };
}

export class ConsoleApiStack extends Stack {
  readonly auth: ConsoleUserPool;
  readonly api: ConsoleHttpApi;
  readonly hosting: ConsoleHosting;
  readonly deployment: s3deploy.BucketDeployment | undefined;

  constructor(scope: Construct, id: string, props: ConsoleApiStackProps) {
    super(scope, id, props);
    this.auth = new ConsoleUserPool(this, 'Auth', { domainPrefix: props.authDomainPrefix });
    const memberExternalId =
      props.memberExternalId ?? new CfnParameter(this, 'MemberExternalId', { type: 'String', minLength: 16, noEcho: true, description: 'ExternalId the member-account roles require' }).valueAsString;
    this.api = new ConsoleHttpApi(this, 'Api', { table: props.table, repository: props.repository, wrapKey: props.wrapKey, memberExternalId, schedules: props.schedules });
    const signIn = this.auth.signInUrl;
    this.hosting = new ConsoleHosting(this, 'Hosting', {
      httpApi: this.api.httpApi,
      connectSources: [`https://cognito-idp.${this.region}.${this.urlSuffix}`, signIn],
      customDomain: props.customDomain,
    });
    const client = this.auth.addConsoleClient(this.hosting.url);
    this.api.protect(this.auth.userPool, client);

    // What the console reads at start to sign in through Cognito (absent when served by `cloudkeep serve`).
    const config = { region: this.region, userPoolId: this.auth.userPool.userPoolId, userPoolClientId: client.userPoolClientId, signInUrl: signIn, apiBase: '/api' };
    this.deployment = this.deployConsole(props.consoleDir ?? DEFAULT_CONSOLE_DIR, config);

    new CfnOutput(this, 'ConsoleUrl', { value: `${this.hosting.url}/`, description: 'The console' });
    new CfnOutput(this, 'UserPoolId', { value: this.auth.userPool.userPoolId, description: 'Create console users here (custom:accounts = their account ids)' });
    new CfnOutput(this, 'UserPoolClientId', { value: client.userPoolClientId, description: 'The console app client' });
    new CfnOutput(this, 'SignInUrl', { value: signIn, description: 'Cognito hosted sign-in base URL' });
    new CfnOutput(this, 'ApiRoleArn', { value: this.api.function.role!.roleArn, description: "The API function's role: member-account roles trust it (with the ExternalId) for the console's resources and snapshots" });
    new CfnOutput(this, 'ConsoleBucketName', { value: this.hosting.bucket.bucketName, description: 'Bucket of the console files' });
  }

  private deployConsole(dir: string, config: Record<string, string>): s3deploy.BucketDeployment | undefined {
    if (!existsSync(join(dir, 'index.html'))) {
      Annotations.of(this).addInfo(`The console is not deployed: ${dir} has no index.html. Run npm run build:console, then synthesize again.`);
      return undefined;
    }
    const deployment = new s3deploy.BucketDeployment(this, 'ConsoleFiles', {
      sources: [s3deploy.Source.asset(dir), s3deploy.Source.jsonData('config.json', config)],
      destinationBucket: this.hosting.bucket,
      // Every file revalidates (ETag), so a new deployment shows at once without invalidating the
      // distribution (which would need cloudfront:CreateInvalidation on "*").
      cacheControl: [s3deploy.CacheControl.noCache()],
      memoryLimit: 256,
    });
    this.acknowledgeDeploymentFindings();
    return deployment;
  }

  /** The BucketDeployment's provider function: a CDK-managed singleton at stack level. */
  private acknowledgeDeploymentFindings(): void {
    const provider = this.node.children.find((c) => c.node.id.startsWith('Custom::CDKBucketDeployment'));
    if (!provider) throw new Error('BucketDeployment provider function not found: the acknowledgements below need a new anchor');
    const ack = (id: string, reason: string) => Validations.of(provider).acknowledge({ id, reason });
    ack('AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]', "The CDK deployment function's basic execution role only writes its own logs.");
    ack('AwsSolutions-L1', 'The runtime of the CDK-managed BucketDeployment function is chosen by aws-cdk-lib.');
    const assets = 'Reads the console asset zip from the CDK bootstrap assets bucket (grant made by BucketDeployment).';
    for (const action of ['s3:GetObject*', 's3:GetBucket*', 's3:List*']) ack(`AwsSolutions-IAM5[Action::${action}]`, assets);
    const known = (value: string, token: string) => (Token.isUnresolved(value) ? token : value);
    ack(`AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-${known(this.account, '<AWS::AccountId>')}-${known(this.region, '<AWS::Region>')}/*]`, assets);
    const files = 'Replaces the console files, and only them: the grant is limited to the console bucket.';
    for (const action of ['s3:DeleteObject*', 's3:Abort*']) ack(`AwsSolutions-IAM5[Action::${action}]`, files);
    ack(`AwsSolutions-IAM5[Resource::<${this.getLogicalId(this.hosting.bucket.node.defaultChild as CfnElement)}.Arn>/*]`, files);
  }
}
