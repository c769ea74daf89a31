// The control-plane stack: table from CONTROL_TABLE_SCHEMA, encryption, retention, alarm, scheduler seams.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { ControlPlaneStack, FAILED_SESSIONS_METRIC, METRICS_NAMESPACE } from '../../infra/control-plane-stack.ts';
import { controlTableInput } from '../../providers/aws/dynamodb-control-table.ts';
import { testApp } from './cdk-test-app.ts';

const stack = new ControlPlaneStack(testApp(), 'ControlPlane', { env: { account: '111122223333', region: 'eu-west-1' } });
const t = Template.fromStack(stack);
const tableId = Object.keys(t.findResources('AWS::DynamoDB::Table'))[0];
const table = t.toJSON().Resources[tableId];
const logicalIdOf = (construct: { node: { defaultChild?: unknown } }) => stack.getLogicalId(construct.node.defaultChild as never);

describe('control table', () => {
  it('has exactly the key schema, index and billing mode of CONTROL_TABLE_SCHEMA', () => {
    const expected = controlTableInput('ignored');
    const p = table.Properties;
    assert.deepEqual(p.KeySchema, expected.KeySchema);
    assert.equal(p.BillingMode, expected.BillingMode);
    const byName = (a: { AttributeName?: string }, b: { AttributeName?: string }) => String(a.AttributeName).localeCompare(String(b.AttributeName));
    assert.deepEqual([...p.AttributeDefinitions].sort(byName), [...expected.AttributeDefinitions!].sort(byName));
    assert.deepEqual(p.GlobalSecondaryIndexes, expected.GlobalSecondaryIndexes);
  });

  it('has point-in-time recovery, deletion protection and SSE with the customer-managed key', () => {
    t.hasResourceProperties('AWS::DynamoDB::Table', {
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      DeletionProtectionEnabled: true,
      SSESpecification: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: { 'Fn::GetAtt': [logicalIdOf(stack.tableKey), 'Arn'] } },
    });
  });

  it('retains the table and every key on delete; keys rotate', () => {
    assert.equal(table.DeletionPolicy, 'Retain');
    const keys = Object.values(t.findResources('AWS::KMS::Key')) as any[];
    assert.equal(keys.length, 3);
    for (const key of keys) {
      assert.equal(key.DeletionPolicy, 'Retain');
      assert.equal(key.Properties.EnableKeyRotation, true);
    }
    t.hasResource('AWS::KMS::Key', { Properties: { Description: Match.stringLikeRegexp('wrapping') }, DeletionPolicy: 'Retain' });
  });
});

describe('alarming', () => {
  it('alarms on the FailedSessions metric into an encrypted, TLS-only topic', () => {
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: METRICS_NAMESPACE,
      MetricName: FAILED_SESSIONS_METRIC,
      Statistic: 'Sum',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
      AlarmActions: [{ Ref: logicalIdOf(stack.alarmTopic) }],
    });
    t.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    t.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
  });
});

describe('scheduler seams', () => {
  it('has a schedule group', () => {
    t.resourceCountIs('AWS::Scheduler::ScheduleGroup', 1);
  });

  it('scheduler role trusts only scheduler.amazonaws.com from this account', () => {
    t.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [
          { Effect: 'Allow', Action: 'sts:AssumeRole', Principal: { Service: 'scheduler.amazonaws.com' }, Condition: { StringEquals: { 'aws:SourceAccount': '111122223333' } } },
        ],
      },
    });
  });

  it('scheduler role may only start the backup state machine', () => {
    t.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: logicalIdOf(stack.schedulerRole) }],
      PolicyDocument: { Statement: [{ Effect: 'Allow', Action: 'states:StartExecution', Resource: { Ref: logicalIdOf(stack.backup.stateMachine) } }] },
    });
  });
});
