// The worker stack: isolated network with endpoints, no inbound, IMDSv2 launch template, least-privilege role.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { buildCloudkeepApp } from '../../infra/cloudkeep-app.ts';
import { testApp, iamStatements, actionsOf } from './cdk-test-app.ts';

const stacks = buildCloudkeepApp(testApp(), { nag: false });
const t = Template.fromStack(stacks.worker);
const sgId = stacks.worker.getLogicalId(stacks.worker.securityGroup.node.defaultChild as never);

describe('worker network', () => {
  it('security group has no inbound rules and only HTTPS out', () => {
    const sg = t.toJSON().Resources[sgId];
    assert.equal(sg.Properties.SecurityGroupIngress, undefined);
    const ingressToWorkers = Object.values(t.findResources('AWS::EC2::SecurityGroupIngress')).filter((r: any) => JSON.stringify(r.Properties.GroupId).includes(sgId));
    assert.deepEqual(ingressToWorkers, []);
    assert.deepEqual(
      sg.Properties.SecurityGroupEgress.map((r: any) => [r.IpProtocol, r.FromPort, r.ToPort]),
      [['tcp', 443, 443]],
    );
  });

  it('runs in isolated subnets: no internet or NAT gateway', () => {
    t.resourceCountIs('AWS::EC2::InternetGateway', 0);
    t.resourceCountIs('AWS::EC2::NatGateway', 0);
    t.hasResourceProperties('AWS::EC2::FlowLog', { TrafficType: 'REJECT' });
  });

  it('reaches S3 and DynamoDB through gateway endpoints, EBS/STS/KMS/Step Functions through interface endpoints', () => {
    for (const svc of ['s3', 'dynamodb']) {
      t.hasResourceProperties('AWS::EC2::VPCEndpoint', { VpcEndpointType: 'Gateway', ServiceName: Match.objectLike({ 'Fn::Join': ['', Match.arrayWith([`.${svc}`])] }) });
    }
    for (const svc of ['ebs', 'sts', 'kms', 'states']) {
      t.hasResourceProperties('AWS::EC2::VPCEndpoint', {
        VpcEndpointType: 'Interface',
        PrivateDnsEnabled: true,
        ServiceName: Match.objectLike({ 'Fn::Join': ['', Match.arrayWith([`.${svc}`])] }),
      });
    }
  });

  it('interface endpoints accept HTTPS only from the workers', () => {
    const ingress = Object.values(t.findResources('AWS::EC2::SecurityGroupIngress')) as any[];
    assert.equal(ingress.length, 4);
    for (const rule of ingress) {
      assert.deepEqual(rule.Properties.SourceSecurityGroupId, { 'Fn::GetAtt': [sgId, 'GroupId'] });
      assert.equal(rule.Properties.FromPort, 443);
    }
  });
});

describe('worker launch template', () => {
  it('requires IMDSv2, encrypts volumes, terminates on shutdown, has no key pair', () => {
    t.hasResourceProperties('AWS::EC2::LaunchTemplate', {
      LaunchTemplateData: {
        MetadataOptions: { HttpTokens: 'required' },
        InstanceInitiatedShutdownBehavior: 'terminate',
        BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { Encrypted: true, VolumeType: 'gp3', DeleteOnTermination: true } }],
        SecurityGroupIds: [{ 'Fn::GetAtt': [sgId, 'GroupId'] }],
        KeyName: Match.absent(),
      },
    });
    const [lt] = Object.values(t.findResources('AWS::EC2::LaunchTemplate')) as any[];
    for (const mapping of lt.Properties.LaunchTemplateData.BlockDeviceMappings) assert.equal(mapping.Ebs.Encrypted, true);
  });

  it('takes the Amazon Linux 2023 AMI from a CloudFormation SSM parameter, not a synth-time lookup', () => {
    const [lt] = Object.values(t.findResources('AWS::EC2::LaunchTemplate')) as any[];
    const parameter = lt.Properties.LaunchTemplateData.ImageId.Ref;
    t.hasParameter(parameter, { Type: 'AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>', Default: Match.stringLikeRegexp('^/aws/service/ami-amazon-linux-latest/al2023-ami-') });
    t.resourceCountIs('AWS::IAM::InstanceProfile', 1);
  });
});

describe('worker role', () => {
  const policyId = stacks.worker.getLogicalId(stacks.worker.role.node.findChild('DefaultPolicy').node.defaultChild as never);
  const statements = iamStatements(t, 'Worker').filter((s) => s.where === `Worker/${policyId}`);
  const withAction = (action: string) => statements.filter((s) => actionsOf(s).includes(action));

  it('reads EBS snapshot blocks only of snapshots tagged cloudkeep:managed', () => {
    const [ebs] = withAction('ebs:GetSnapshotBlock');
    assert.deepEqual(actionsOf(ebs), ['ebs:ListSnapshotBlocks', 'ebs:ListChangedBlocks', 'ebs:GetSnapshotBlock']);
    assert.match(JSON.stringify(ebs.Resource), /::snapshot\/\*/);
    assert.deepEqual(ebs.Condition, { StringEquals: { 'aws:ResourceTag/cloudkeep:managed': 'true' } });
  });

  it('reports task results, uses the repository grant, and only decrypts with the wrap key', () => {
    assert.deepEqual(actionsOf(withAction('states:SendTaskSuccess')[0]), ['states:SendTaskSuccess', 'states:SendTaskFailure', 'states:SendTaskHeartbeat']);
    assert.match(JSON.stringify(withAction('s3:PutObject')[0].Resource), /\/repository\/\*/);
    const wrap = statements.filter((s) => JSON.stringify(s.Resource).includes('WrapKey'));
    assert.deepEqual(wrap.map(actionsOf), [['kms:Decrypt']]);
    const all = statements.flatMap(actionsOf).sort();
    assert.deepEqual(all, [
      'ebs:CompleteSnapshot', 'ebs:GetSnapshotBlock', 'ebs:ListChangedBlocks', 'ebs:ListSnapshotBlocks', 'ebs:PutSnapshotBlock', 'ebs:StartSnapshot', 'ec2:DeleteSnapshot',
      'kms:Decrypt', 'kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey',
      's3:DeleteObject', 's3:GetObject', 's3:ListBucket', 's3:PutObject',
      'states:SendTaskFailure', 'states:SendTaskHeartbeat', 'states:SendTaskSuccess',
    ]);
  });
});
