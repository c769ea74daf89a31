// The console stack: private bucket behind CloudFront (OAC, HTTPS only), /api/* uncached to an HTTP
// API where every route needs a Cognito JWT, a least-privilege API Lambda, and an admin-only user pool.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ConsoleApiStack, consoleOptionsFromContext, type ConsoleApiStackProps } from '../../infra/console-api-stack.ts';
import { CONSOLE_CSP } from '../../functions/api/static-files.ts';
import { SPA_ROUTING_CODE, STRIP_API_PREFIX_CODE } from '../../infra/console-hosting.ts';
import { ControlPlaneStack, SCHEDULE_GROUP_NAME } from '../../infra/control-plane-stack.ts';
import { RepositoryStack } from '../../infra/repository-stack.ts';
import { actionsOf, iamStatements, isReadOnlyAction, resourcesOf, testApp } from './cdk-test-app.ts';

const env = { account: '111122223333', region: 'eu-west-1' };
const CACHING_DISABLED = '4135ea2d-6df8-44a3-9df3-4b5a84be39ad';
const ALL_VIEWER_EXCEPT_HOST = 'b689b0a8-53d0-40ab-baf2-68738e2966ac';

/** The console stack next to the stacks it reads from, as buildCloudkeepApp composes them. */
function build(options: Partial<ConsoleApiStackProps> = {}) {
  const app = testApp();
  const repository = new RepositoryStack(app, 'CloudkeepRepository', { env });
  const controlPlane = new ControlPlaneStack(app, 'CloudkeepControlPlane', { env, memberExternalId: 'e'.repeat(16) });
  const stack = new ConsoleApiStack(app, 'CloudkeepConsole', { env, table: controlPlane.table, repository: repository.repository, wrapKey: controlPlane.wrapKey,
    schedules: { groupName: SCHEDULE_GROUP_NAME, role: controlPlane.schedulerRole }, consoleDir: '/nonexistent', ...options });
  const t = Template.fromStack(stack);
  return { app, stack, t, resources: t.toJSON().Resources as Record<string, { Type: string; Properties: any }> };
}

const consoleDir = mkdtempSync(join(tmpdir(), 'cloudkeep-console-'));
writeFileSync(join(consoleDir, 'index.html'), '<!doctype html><title>Cloudkeep</title>');
const deployed = build({ consoleDir });
rmSync(consoleDir, { recursive: true, force: true });
const bare = build();
const { stack, t, resources } = deployed;
const ofType = (type: string, r = resources) => Object.entries(r).filter(([, v]) => v.Type === type);
const logicalId = (c: { node: { defaultChild?: unknown } }) => stack.getLogicalId(c.node.defaultChild as never);
const distribution = ofType('AWS::CloudFront::Distribution')[0][1].Properties.DistributionConfig;
const apiBehavior = distribution.CacheBehaviors.find((b: { PathPattern: string }) => b.PathPattern === '/api/*');

describe('console bucket', () => {
  it('blocks all public access, is encrypted and has no website configuration', () => {
    const bucket = resources[logicalId(stack.hosting.bucket)].Properties;
    assert.deepEqual(bucket.PublicAccessBlockConfiguration, { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true });
    assert.equal(bucket.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault.SSEAlgorithm, 'AES256');
    for (const [, b] of ofType('AWS::S3::Bucket')) assert.equal(b.Properties.WebsiteConfiguration, undefined);
  });

  it('denies every request without TLS and lets only this distribution read (OAC)', () => {
    const policy = ofType('AWS::S3::BucketPolicy').find(([, p]) => p.Properties.Bucket.Ref === logicalId(stack.hosting.bucket))![1].Properties.PolicyDocument;
    assert.ok(policy.Statement.some((s: any) => s.Effect === 'Deny' && s.Condition?.Bool?.['aws:SecureTransport'] === 'false'));
    const read = policy.Statement.find((s: any) => s.Principal?.Service === 'cloudfront.amazonaws.com');
    assert.equal(read.Action, 's3:GetObject');
    assert.ok(JSON.stringify(read.Condition).includes(logicalId(stack.hosting.distribution)));
  });
});

describe('CloudFront', () => {
  it('every behavior is HTTPS only or redirects to HTTPS', () => {
    const behaviors = [distribution.DefaultCacheBehavior, ...distribution.CacheBehaviors];
    assert.equal(behaviors.length, 2);
    for (const b of behaviors) assert.ok(['redirect-to-https', 'https-only'].includes(b.ViewerProtocolPolicy), b.ViewerProtocolPolicy);
  });

  it('reads the bucket through an origin access control, serves index.html at / and rewrites no errors', () => {
    const s3Origin = distribution.Origins.find((o: any) => o.S3OriginConfig);
    assert.deepEqual(s3Origin.OriginAccessControlId, { 'Fn::GetAtt': [ofType('AWS::CloudFront::OriginAccessControl')[0][0], 'Id'] });
    assert.equal(s3Origin.S3OriginConfig.OriginAccessIdentity, '');
    t.hasResourceProperties('AWS::CloudFront::OriginAccessControl', { OriginAccessControlConfig: { OriginAccessControlOriginType: 's3', SigningBehavior: 'always', SigningProtocol: 'sigv4' } });
    assert.equal(distribution.DefaultRootObject, 'index.html');
    // Distribution-wide error responses would turn the API's 401/403/404 into index.html.
    assert.equal(distribution.CustomErrorResponses, undefined);
  });

  it('/api/* goes to the HTTP API uncached, with all methods and the Authorization header, over TLS 1.2', () => {
    assert.equal(apiBehavior.CachePolicyId, CACHING_DISABLED);
    assert.equal(apiBehavior.OriginRequestPolicyId, ALL_VIEWER_EXCEPT_HOST);
    assert.deepEqual([...apiBehavior.AllowedMethods].sort(), ['DELETE', 'GET', 'HEAD', 'OPTIONS', 'PATCH', 'POST', 'PUT']);
    const origin = distribution.Origins.find((o: any) => o.Id === apiBehavior.TargetOriginId);
    assert.deepEqual(origin.CustomOriginConfig, { OriginProtocolPolicy: 'https-only', OriginSSLProtocols: ['TLSv1.2'] });
    assert.deepEqual(origin.DomainName['Fn::Join'][1][0], { Ref: logicalId(stack.api.httpApi) });
  });

  it('sends security headers with a CSP that allows the Cognito endpoints, and logs requests', () => {
    const policy = ofType('AWS::CloudFront::ResponseHeadersPolicy')[0][1].Properties.ResponseHeadersPolicyConfig.SecurityHeadersConfig;
    assert.equal(policy.StrictTransportSecurity.AccessControlMaxAgeSec, 730 * 86400);
    assert.equal(policy.FrameOptions.FrameOption, 'DENY');
    // The CSP holds tokens (region, sign-in domain): join its parts with a placeholder for each.
    const csp = (policy.ContentSecurityPolicy.ContentSecurityPolicy['Fn::Join'][1] as unknown[]).map((p) => (typeof p === 'string' ? p : '<token>')).join('');
    const connect = csp.split('; ').find((d) => d.startsWith('connect-src'));
    assert.equal(connect, "connect-src 'self' https://cognito-idp.eu-west-1.<token> https://<token>.auth.eu-west-1.amazoncognito.com");
    // Otherwise the very policy of the local server.
    const others = (text: string) => text.split('; ').filter((d) => !d.startsWith('connect-src'));
    assert.deepEqual(others(csp), others(CONSOLE_CSP));
    assert.ok(distribution.Logging.Bucket);
  });

  it('viewer-request functions: console routes become /index.html, /api/x reaches the API as /x', () => {
    const run = (code: string, uri: string, accept?: string) =>
      (new Function(`${code}; return handler;`)() as (e: unknown) => { uri: string })({ request: { uri, headers: accept ? { accept: { value: accept } } : {} } }).uri;
    assert.equal(run(SPA_ROUTING_CODE, '/policies/p1', 'text/html,application/xhtml+xml'), '/index.html');
    assert.equal(run(SPA_ROUTING_CODE, '/resources/vol-1.data', 'text/html'), '/index.html');
    assert.equal(run(SPA_ROUTING_CODE, '/sessions'), '/index.html');
    assert.equal(run(SPA_ROUTING_CODE, '/assets/index-AbCd1234.js', '*/*'), '/assets/index-AbCd1234.js');
    assert.equal(run(SPA_ROUTING_CODE, '/config.json', '*/*'), '/config.json');
    assert.equal(run(STRIP_API_PREFIX_CODE, '/api/accounts/a1/policies'), '/accounts/a1/policies');
    const fns = ofType('AWS::CloudFront::Function').map(([, f]) => f.Properties);
    assert.deepEqual(fns.map((f) => f.FunctionConfig.Runtime), ['cloudfront-js-2.0', 'cloudfront-js-2.0']);
  });
});

describe('HTTP API', () => {
  it('has no route without the Cognito JWT authorizer', () => {
    const routes = ofType('AWS::ApiGatewayV2::Route');
    assert.ok(routes.length >= 1);
    const [authorizerId, authorizer] = ofType('AWS::ApiGatewayV2::Authorizer')[0];
    for (const [id, route] of routes) {
      assert.equal(route.Properties.AuthorizationType, 'JWT', id);
      assert.deepEqual(route.Properties.AuthorizerId, { Ref: authorizerId }, id);
    }
    assert.deepEqual(authorizer.Properties.JwtConfiguration.Audience, [{ Ref: logicalId(stack.auth.userPool.node.findChild('ConsoleClient') as never) }]);
    assert.ok(JSON.stringify(authorizer.Properties.JwtConfiguration.Issuer).includes(logicalId(stack.auth.userPool)));
  });

  it('throttles the stage and writes JSON access logs', () => {
    const stage = ofType('AWS::ApiGatewayV2::Stage')[0][1].Properties;
    assert.deepEqual(stage.DefaultRouteSettings, { ThrottlingBurstLimit: 50, ThrottlingRateLimit: 25 });
    assert.ok(stage.AccessLogSettings.DestinationArn);
    assert.equal(JSON.parse(stage.AccessLogSettings.Format).requestId, '$context.requestId');
  });
});

describe('API Lambda', () => {
  const statements = iamStatements(t, 'CloudkeepConsole').filter((s) => s.where.includes('ApiFunction'));

  it('runs Node 24 with the user pool, table, repository and key in its environment', () => {
    const fn = resources[logicalId(stack.api.function)].Properties;
    assert.equal(fn.Runtime, 'nodejs24.x');
    assert.deepEqual(Object.keys(fn.Environment.Variables).sort(), [
      'CLOUDKEEP_BACKUP_STATE_MACHINE_ARN', 'CLOUDKEEP_EXTERNAL_ID', 'CLOUDKEEP_KEY', 'CLOUDKEEP_REPOSITORY', 'CLOUDKEEP_RESTORE_STATE_MACHINE_ARN',
      'CLOUDKEEP_SCHEDULER_ROLE_ARN', 'CLOUDKEEP_SCHEDULE_GROUP', 'CONTROL_TABLE_NAME', 'POWERTOOLS_SERVICE_NAME', 'USER_POOL_CLIENT_ID', 'USER_POOL_ID',
    ]);
    const joined = (v: unknown) => JSON.stringify(v);
    assert.match(joined(fn.Environment.Variables.CLOUDKEEP_BACKUP_STATE_MACHINE_ARN), /:stateMachine:cloudkeep-backup"/);
    assert.match(joined(fn.Environment.Variables.CLOUDKEEP_RESTORE_STATE_MACHINE_ARN), /:stateMachine:cloudkeep-restore"/);
    // Without a given ExternalId, the stack asks for it (as the control plane does).
    assert.deepEqual(fn.Environment.Variables.CLOUDKEEP_EXTERNAL_ID, { Ref: 'MemberExternalId' });
  });

  it('starts the two state machines and reads or stops only restore executions; assumes only the read-only member role', () => {
    const flat = (v: unknown) => JSON.stringify(v).replace(/\{"Ref":"AWS::(\w+)"\}/g, '<$1>').replace(/[",\[\]]|\{"Fn::Join":|\}/g, '');
    const scoped = (action: string) => statements.filter((s) => actionsOf(s).includes(action)).map((s) => ({ actions: actionsOf(s).sort(), resources: resourcesOf(s).map(flat).sort() }));
    const machine = (name: string) => `arn:<Partition>:states:<Region>:<AccountId>:stateMachine:${name}`;
    assert.deepEqual(scoped('states:StartExecution'), [{ actions: ['states:StartExecution'], resources: [machine('cloudkeep-backup'), machine('cloudkeep-restore')] }]);
    assert.deepEqual(scoped('states:ListExecutions'), [{ actions: ['states:ListExecutions'], resources: [machine('cloudkeep-restore')] }]);
    assert.deepEqual(scoped('states:DescribeExecution'), [{ actions: ['states:DescribeExecution', 'states:StopExecution'], resources: ['arn:<Partition>:states:<Region>:<AccountId>:execution:cloudkeep-restore:*'] }]);
    assert.deepEqual(scoped('sts:AssumeRole'), [{ actions: ['sts:AssumeRole'], resources: ['arn:<Partition>:iam::*:role/cloudkeep-member-read'] }]);
    const states = statements.flatMap(actionsOf).filter((a) => a.startsWith('states:')).sort();
    assert.deepEqual(states, ['states:DescribeExecution', 'states:ListExecutions', 'states:StartExecution', 'states:StopExecution']);
    t.hasOutput('ApiRoleArn', {});
  });

  it('updates only cloudkeep-* schedules of the control plane group and passes the scheduler role only to EventBridge Scheduler', () => {
    const schedule = statements.filter((s) => actionsOf(s).some((a) => a.startsWith('scheduler:')));
    assert.equal(schedule.length, 1);
    assert.deepEqual(actionsOf(schedule[0]).sort(), ['scheduler:CreateSchedule', 'scheduler:DeleteSchedule', 'scheduler:GetSchedule', 'scheduler:UpdateSchedule']);
    assert.match(JSON.stringify(resourcesOf(schedule[0])), /schedule\/.*\/cloudkeep-\*/);
    const pass = statements.filter((s) => actionsOf(s).includes('iam:PassRole'));
    assert.equal(pass.length, 1);
    assert.deepEqual((pass[0] as { Condition?: unknown }).Condition, { StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' } });
    assert.ok(!resourcesOf(pass[0]).includes('*'), 'PassRole names the scheduler role');
  });

  it('has no "*" or whole-service actions and no write on "*"', () => {
    assert.ok(statements.length >= 5);
    for (const s of statements) {
      for (const action of actionsOf(s)) assert.doesNotMatch(action, /^\*$|^[a-z0-9-]+:\*$/, `${s.where}: ${action}`);
      if (resourcesOf(s).includes('*')) assert.deepEqual(actionsOf(s).filter((a) => !isReadOnlyAction(a)), [], s.where);
    }
  });

  it('only reads the repository, under its prefix', () => {
    const s3 = statements.filter((s) => actionsOf(s).some((a) => a.startsWith('s3:')));
    assert.deepEqual(s3.flatMap(actionsOf).sort(), ['s3:GetObject', 's3:ListBucket']);
    assert.match(JSON.stringify(s3[0].Resource), /\/repository\/\*/);
  });
});

describe('user pool', () => {
  it('admins create users; MFA is required; passwords are strong; accounts is an attribute users cannot write', () => {
    const pool = ofType('AWS::Cognito::UserPool')[0][1].Properties;
    assert.equal(pool.AdminCreateUserConfig.AllowAdminCreateUserOnly, true);
    assert.equal(pool.MfaConfiguration, 'ON');
    assert.deepEqual(pool.EnabledMfas, ['SOFTWARE_TOKEN_MFA']);
    assert.equal(pool.Policies.PasswordPolicy.MinimumLength, 14);
    assert.ok(pool.Schema.some((a: any) => a.Name === 'accounts' && a.Mutable === true));
    const client = ofType('AWS::Cognito::UserPoolClient')[0][1].Properties;
    assert.equal(client.GenerateSecret, false);
    assert.ok(client.ReadAttributes.includes('custom:accounts'));
    assert.ok(!client.WriteAttributes.includes('custom:accounts'));
    assert.deepEqual(client.AllowedOAuthFlows, ['code']);
  });
});

describe('console files and cdk-nag', () => {
  it('deploys the built console with a config.json, or says why not', () => {
    assert.equal(ofType('Custom::CDKBucketDeployment').length, 1);
    assert.equal(ofType('Custom::CDKBucketDeployment', bare.resources).length, 0);
    const info = bare.stack.node.metadata.filter((m) => m.type === 'aws:cdk:info').map((m) => String(m.data));
    assert.ok(info.some((m) => m.includes('The console is not deployed: /nonexistent has no index.html')), info.join());
  });

  it('no AwsSolutions finding is left unacknowledged, with or without the console files', () => {
    for (const { app } of [deployed, bare]) assert.deepEqual(new AwsSolutionsChecks().validateScope(app).violations.map((v) => v.ruleName), []);
  });

  it('a custom domain gets its certificate and TLS 1.2 minimum; context needs both settings', () => {
    const domain = { domainNames: ['backup.example.com'], certificateArn: 'arn:aws:acm:us-east-1:111122223333:certificate/abc' };
    const custom = build({ customDomain: domain });
    const config = ofType('AWS::CloudFront::Distribution', custom.resources)[0][1].Properties.DistributionConfig;
    assert.deepEqual(config.Aliases, domain.domainNames);
    assert.equal(config.ViewerCertificate.MinimumProtocolVersion, 'TLSv1.2_2021');
    assert.deepEqual(new AwsSolutionsChecks().validateScope(custom.app).violations.map((v) => v.ruleName), []);
    const app = testApp();
    app.node.setContext('consoleDomainName', 'backup.example.com');
    assert.throws(() => consoleOptionsFromContext(app), /set both consoleDomainName and consoleCertificateArn/);
    app.node.setContext('consoleCertificateArn', domain.certificateArn);
    assert.deepEqual(consoleOptionsFromContext(app).customDomain, domain);
  });
});
