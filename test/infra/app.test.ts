// Whole-app checks: IAM statements in every template, and cdk-nag AWS Solutions findings all fixed or acknowledged.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks } from 'cdk-nag';
import { buildCloudkeepApp, configFromContext } from '../../infra/cloudkeep-app.ts';
import { actionsOf, iamStatements, isReadOnlyAction, resourcesOf, testApp } from './cdk-test-app.ts';

// Object Lock on, so the lock-only grants are walked too; the nag plugin runs on synth.
const app = testApp();
buildCloudkeepApp(app, { objectLock: { mode: 'GOVERNANCE', days: 7 }, memberTrust: { controlPlaneRoleArn: 'arn:aws:iam::111122223333:role/x', externalId: 'e'.repeat(16) } });
const assembly = app.synth();
const templates = assembly.stacks.map((s) => [s.stackName, Template.fromJSON(s.template)] as const);
const statements = templates.flatMap(([name, t]) => iamStatements(t, name));

describe('IAM across every template', () => {
  it('covers all five stacks and their policies', () => {
    assert.deepEqual(templates.map(([n]) => n).sort(), ['CloudkeepConsole', 'CloudkeepControlPlane', 'CloudkeepMemberAccountRole', 'CloudkeepRepository', 'CloudkeepWorker']);
    assert.ok(statements.length >= 20, `found ${statements.length} statements`);
    assert.ok(statements.some((s) => actionsOf(s).includes('s3:PutObjectRetention')));
  });

  it('no statement allows "*" or a whole service ("svc:*"), and none uses NotAction', () => {
    for (const s of statements) {
      assert.equal(s.NotAction, undefined, s.where);
      for (const action of actionsOf(s)) assert.doesNotMatch(action, /^\*$|^[a-z0-9-]+:\*$/, `${s.where}: ${action}`);
    }
  });

  it('write actions never have Resource "*"', () => {
    // CloudWatch Logs vended delivery and X-Ray (the state machine's logs and traces) support no resource-level permissions.
    const logDelivery = new Set(['logs:CreateLogDelivery', 'logs:UpdateLogDelivery', 'logs:DeleteLogDelivery', 'logs:PutResourcePolicy', 'xray:PutTraceSegments', 'xray:PutTelemetryRecords']);
    for (const s of statements) {
      if (s.Effect !== 'Allow' || !resourcesOf(s).includes('*')) continue;
      const writes = actionsOf(s).filter((a) => !isReadOnlyAction(a) && !(s.where.includes('StateMachineRole') && logDelivery.has(a)));
      assert.deepEqual(writes, [], `${s.where} grants writes on "*"`);
    }
  });
});

describe('cdk-nag AwsSolutions', () => {
  it('synth with the plugin succeeded, and no finding of any level is left unacknowledged', () => {
    const report = new AwsSolutionsChecks().validateScope(app);
    const open = report.violations.map((v) => `${v.severity} ${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath).join(', ')}`);
    assert.deepEqual(open, []);
    assert.equal(report.success, true);
  });

  it('reports unacknowledged findings (control: a default bucket)', () => {
    const control = testApp();
    new s3.Bucket(new Stack(control, 'Control'), 'Open');
    const rules = new AwsSolutionsChecks().validateScope(control).violations.map((v) => `${v.severity} ${v.ruleName}`);
    assert.ok(rules.includes('error AwsSolutions-S1') && rules.includes('error AwsSolutions-S10'), rules.join());
  });
});

describe('configFromContext', () => {
  it('reads env from CDK_DEFAULT_* and options from context', () => {
    const a = testApp();
    for (const [k, v] of Object.entries({ objectLockMode: 'COMPLIANCE', objectLockDays: '90', region: 'eu-central-1' })) a.node.setContext(k, v);
    const config = configFromContext(a, { CDK_DEFAULT_ACCOUNT: '123456789012', CDK_DEFAULT_REGION: 'us-east-1' });
    assert.deepEqual(config.env, { account: '123456789012', region: 'eu-central-1' });
    assert.deepEqual(config.objectLock, { mode: 'COMPLIANCE', days: 90 });
    assert.equal(configFromContext(testApp(), {}).env, undefined);
  });

  it('rejects an unknown Object Lock mode and half-set member trust', () => {
    const a = testApp();
    a.node.setContext('objectLockMode', 'governance');
    assert.throws(() => configFromContext(a, {}), /GOVERNANCE or COMPLIANCE/);
    const b = testApp();
    b.node.setContext('memberExternalId', 'x');
    assert.throws(() => configFromContext(b, {}), /both/);
  });
});
