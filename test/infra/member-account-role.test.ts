// The member-account role: one trusted principal with ExternalId, tag-conditioned snapshot writes and restores into the account.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { MemberAccountRoleStack } from '../../infra/member-account-role.ts';
import { actionsOf, iamStatements, testApp } from './cdk-test-app.ts';

const TRUSTED = 'arn:aws:iam::111122223333:role/cloudkeep-orchestrator';
const app = testApp();
const API_ROLE = 'arn:aws:iam::111122223333:role/CloudkeepConsole-ApiFunctionRole';
const given = new MemberAccountRoleStack(app, 'Member', { controlPlaneRoleArn: TRUSTED, externalId: 'ext-0123456789abcdef', consoleApiRoleArn: API_ROLE });
const bare = new MemberAccountRoleStack(app, 'MemberTemplate');
const t = Template.fromStack(given);
const parameterised = Template.fromStack(bare);
const all = iamStatements(t, 'Member');
const statements = all.filter((s) => !s.where.includes('ReadRole'));
const readStatements = all.filter((s) => s.where.includes('ReadRole'));
const bySid = (sid: string) => statements.find((s) => (s as { Sid?: string }).Sid === sid)!;

describe('member account role', () => {
  it('trusts only the given control-plane role, with the ExternalId', () => {
    t.hasResourceProperties('AWS::IAM::Role', {
      RoleName: 'cloudkeep-member',
      AssumeRolePolicyDocument: {
        Statement: [{ Effect: 'Allow', Action: 'sts:AssumeRole', Principal: { AWS: TRUSTED }, Condition: { StringEquals: { 'sts:ExternalId': 'ext-0123456789abcdef' } } }],
      },
    });
  });

  it('without props, takes the trusted role and ExternalId as template parameters', () => {
    parameterised.hasParameter('ControlPlaneRoleArn', { Type: 'String' });
    parameterised.hasParameter('ExternalId', { Type: 'String', NoEcho: true });
    parameterised.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [{ Principal: { AWS: { Ref: 'ControlPlaneRoleArn' } }, Condition: { StringEquals: { 'sts:ExternalId': { Ref: 'ExternalId' } } } }],
      },
    });
  });

  it('deletes only snapshots tagged cloudkeep:managed=true', () => {
    for (const sid of ['Ec2SnapshotDelete', 'RdsSnapshotDelete']) {
      assert.deepEqual(bySid(sid).Condition, { StringEquals: { 'aws:ResourceTag/cloudkeep:managed': 'true' } }, sid);
    }
    assert.deepEqual(actionsOf(bySid('RdsSnapshotDelete')), ['rds:DeleteDBSnapshot', 'rds:DeleteDBClusterSnapshot']);
  });

  it('creates snapshots only with the managed tag, and tags only on creation', () => {
    assert.deepEqual(bySid('Ec2SnapshotCreate').Condition, { StringEquals: { 'aws:RequestTag/cloudkeep:managed': 'true' } });
    assert.deepEqual(bySid('RdsSnapshotCreate').Condition, { StringEquals: { 'aws:RequestTag/cloudkeep:managed': 'true' } });
    assert.deepEqual(bySid('Ec2TagOnCreate').Condition, { StringEquals: { 'ec2:CreateAction': ['CreateSnapshot', 'CreateSnapshots'] } });
  });

  it('sends commands only with the shell documents and AWSEC2-CreateVssSnapshot, to instances tagged for backup', () => {
    assert.deepEqual(JSON.stringify(bySid('SsmScriptDocuments').Resource).match(/document\/[\w-]+/g), ['document/AWS-RunShellScript', 'document/AWS-RunPowerShellScript', 'document/AWSEC2-CreateVssSnapshot']);
    assert.deepEqual(bySid('SsmScriptInstances').Condition, { Null: { 'aws:ResourceTag/cloudkeep:backup': 'false' } });
    const sendCommand = statements.filter((s) => actionsOf(s).includes('ssm:SendCommand')).map((s) => (s as { Sid?: string }).Sid);
    assert.deepEqual(sendCommand, ['SsmScriptDocuments', 'SsmScriptInstances']);
  });

  it('restores volumes: CreateVolume only with the cloudkeep:restore request tag, DeleteVolume only on restore-tagged volumes', () => {
    const restoreRequestTag = { Null: { 'aws:RequestTag/cloudkeep:restore': 'false' } };
    assert.deepEqual(actionsOf(bySid('RestoreCreate')), ['ec2:CreateVolume', 'ec2:RunInstances']);
    assert.deepEqual(bySid('RestoreCreate').Condition, restoreRequestTag);
    assert.match(JSON.stringify(bySid('RestoreCreate').Resource), /:volume\/\*.*:instance\/\*/);
    // The shared snapshot is the only unconditioned CreateVolume resource: volumes themselves need the tag.
    assert.deepEqual([actionsOf(bySid('RestoreSharedSnapshots')), JSON.stringify(bySid('RestoreSharedSnapshots').Resource)], [['ec2:CreateVolume'], JSON.stringify({ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':ec2:*::snapshot/*']] })]);
    assert.deepEqual(actionsOf(bySid('RestoreDelete')), ['ec2:DeleteVolume', 'ec2:TerminateInstances', 'ec2:DeregisterImage']);
    assert.deepEqual(bySid('RestoreDelete').Condition, { Null: { 'aws:ResourceTag/cloudkeep:restore': 'false' } });
    assert.deepEqual(bySid('RestoreTagOnCreate').Condition, { StringEquals: { 'ec2:CreateAction': ['CreateVolume', 'RunInstances', 'RegisterImage', 'CopySnapshot'] } });
    assert.ok(actionsOf(bySid('Ec2Describe')).includes('ec2:DescribeVolumes'));
  });

  it('restores whole instances from copies: CopySnapshot with the restore request tag, images and launches from managed copies only', () => {
    assert.deepEqual(bySid('RestoreCopySnapshot').Condition, { Null: { 'aws:RequestTag/cloudkeep:restore': 'false' } });
    assert.deepEqual(bySid('RestoreRegisterImage').Condition, { Null: { 'aws:RequestTag/cloudkeep:restore': 'false' } });
    assert.deepEqual(actionsOf(bySid('RestoreFromCopies')), ['ec2:RegisterImage', 'ec2:RunInstances']);
    assert.deepEqual(bySid('RestoreFromCopies').Condition, { StringEquals: { 'aws:ResourceTag/cloudkeep:managed': 'true' } });
    // Copies are deleted like every managed snapshot: only with the managed resource tag.
    const deleters = statements.filter((s) => actionsOf(s).includes('ec2:DeleteSnapshot')).map((s) => (s as { Sid?: string }).Sid);
    assert.deepEqual(deleters, ['Ec2SnapshotDelete']);
    const unconditioned = statements.filter((s) => !s.Condition).flatMap(actionsOf).filter((a) => /^ec2:(Create|Copy|Register|Delete|Deregister|Terminate|Modify)/.test(a));
    assert.deepEqual(unconditioned.sort(), ['ec2:CreateSnapshot', 'ec2:CreateSnapshots', 'ec2:CreateVolume']);
    for (const s of statements) for (const a of actionsOf(s)) assert.doesNotMatch(a, /^\*$|:\*$/);
  });

  it("the console API's read-only role trusts only the API role with the ExternalId and may only describe", () => {
    t.hasResourceProperties('AWS::IAM::Role', {
      RoleName: 'cloudkeep-member-read',
      AssumeRolePolicyDocument: { Statement: [{ Effect: 'Allow', Action: 'sts:AssumeRole', Principal: { AWS: API_ROLE }, Condition: { StringEquals: { 'sts:ExternalId': 'ext-0123456789abcdef' } } }] },
    });
    const actions = readStatements.flatMap(actionsOf);
    assert.ok(actions.length > 0 && actions.every((a) => /^(ec2|rds):Describe[A-Za-z]+$/.test(a)), actions.join(', '));
  });

  it('the template creates the read-only role only when the ConsoleApiRoleArn parameter is given', () => {
    parameterised.hasParameter('ConsoleApiRoleArn', { Type: 'String', Default: '' });
    const roles = Object.values(parameterised.toJSON().Resources as Record<string, { Type: string; Condition?: string; Properties: { RoleName?: string } }>).filter((r) => r.Type === 'AWS::IAM::Role');
    const read = roles.find((r) => r.Properties.RoleName === 'cloudkeep-member-read');
    assert.ok(read?.Condition, 'the read role has a condition');
    assert.equal(roles.find((r) => r.Properties.RoleName === 'cloudkeep-member')?.Condition, undefined);
  });

  it('uses Resource "*" only for calls without resource-level permissions', () => {
    const star = statements.filter((s) => JSON.stringify(s.Resource) === '"*"').flatMap(actionsOf);
    assert.deepEqual(star.sort(), ['ec2:DescribeImages', 'ec2:DescribeInstances', 'ec2:DescribeSnapshots', 'ec2:DescribeVolumes', 'ssm:GetCommandInvocation']);
    t.hasResourceProperties('AWS::IAM::Role', { Policies: Match.arrayWith([Match.objectLike({ PolicyName: 'cloudkeep' })]) });
  });
});
