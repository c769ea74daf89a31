// The repository bucket: encryption, TLS, public access block, Object Lock on/off, retention, and the worker grant.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { RepositoryBucket, RepositoryStack } from '../../infra/repository-stack.ts';
import { testApp } from './cdk-test-app.ts';

const app = testApp();
const plain = new RepositoryStack(app, 'Plain');
const locked = new RepositoryStack(app, 'Locked', { objectLock: { mode: 'COMPLIANCE', days: 30 }, prefix: 'repos/prod' });
const grantStack = new Stack(app, 'Grantee');
const workerRole = new iam.Role(grantStack, 'Worker', { assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com') });
locked.repository.grantWorkerReadWrite(workerRole);
const plainRole = new iam.Role(plain, 'SameStackWorker', { assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com') });
plain.repository.grantWorkerReadWrite(plainRole);
const plainT = Template.fromStack(plain);
const lockedT = Template.fromStack(locked);
const granteeT = Template.fromStack(grantStack);

const keyRef = (t: Template) => Object.keys(t.findResources('AWS::KMS::Key'))[0];
const repositoryBucket = (t: Template) => {
  const [id] = Object.keys(t.findResources('AWS::S3::Bucket', { Properties: { VersioningConfiguration: { Status: 'Enabled' } } }));
  assert.ok(id, 'a versioned bucket');
  return id;
};

describe('repository bucket', () => {
  for (const [name, t] of [['plain', plainT], ['locked', lockedT]] as const) {
    it(`${name}: versioned, SSE-KMS with the customer key, all public access blocked, access logs`, () => {
      t.hasResourceProperties('AWS::S3::Bucket', {
        VersioningConfiguration: { Status: 'Enabled' },
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [
            { ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: { 'Fn::GetAtt': [keyRef(t), 'Arn'] } }, BucketKeyEnabled: true },
          ],
        },
        PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
        LoggingConfiguration: { DestinationBucketName: Match.anyValue() },
        LifecycleConfiguration: { Rules: Match.arrayWith([Match.objectLike({ AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 } })]) },
      });
      t.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    });

    it(`${name}: bucket policy denies requests without TLS`, () => {
      t.hasResourceProperties('AWS::S3::BucketPolicy', {
        Bucket: { Ref: repositoryBucket(t) },
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Action: 's3:*', Principal: { AWS: '*' }, Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          ]),
        },
      });
    });

    it(`${name}: bucket and key are retained on delete`, () => {
      t.hasResource('AWS::S3::Bucket', { Properties: { VersioningConfiguration: { Status: 'Enabled' } }, DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
      t.hasResource('AWS::KMS::Key', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    });
  }

  it('Object Lock is off by default', () => {
    const props = plainT.toJSON().Resources[repositoryBucket(plainT)].Properties;
    assert.equal(props.ObjectLockEnabled, undefined);
    assert.equal(props.ObjectLockConfiguration, undefined);
  });

  it('Object Lock on: enabled at creation with the default retention', () => {
    lockedT.hasResourceProperties('AWS::S3::Bucket', {
      ObjectLockEnabled: true,
      ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'COMPLIANCE', Days: 30 } } },
    });
  });

  it('rejects invalid Object Lock days and prefixes', () => {
    const s = new Stack(testApp(), 'Bad');
    assert.throws(() => new RepositoryBucket(s, 'A', { objectLock: { mode: 'GOVERNANCE', days: 0 } }), /days/);
    assert.throws(() => new RepositoryBucket(s, 'B', { prefix: '/' }), /prefix/);
  });
});

describe('grantWorkerReadWrite', () => {
  const statements = () => granteeT.toJSON().Resources[Object.keys(granteeT.findResources('AWS::IAM::Policy'))[0]].Properties.PolicyDocument.Statement as any[];

  it('scopes object actions to the prefix, with retention actions when locked', () => {
    granteeT.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Effect: 'Allow',
            Action: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:PutObjectRetention', 's3:GetObjectRetention'],
            Resource: { 'Fn::Join': ['', [{ 'Fn::ImportValue': 'Locked-Repository-BucketArn' }, '/repos/prod/*']] },
          },
          { Effect: 'Allow', Action: 's3:ListBucket', Resource: { 'Fn::ImportValue': 'Locked-Repository-BucketArn' }, Condition: { StringLike: { 's3:prefix': ['repos/prod/*'] } } },
        ]),
      },
    });
  });

  it('uses the key only through S3, and grants nothing else', () => {
    const kms = statements().find((s) => String(s.Action).startsWith('kms:'));
    assert.deepEqual(kms.Action, ['kms:Encrypt', 'kms:Decrypt', 'kms:GenerateDataKey']);
    assert.ok(kms.Condition.StringEquals['kms:ViaService']);
    assert.equal(statements().length, 3);
  });

  it('gives no retention actions when Object Lock is off', () => {
    const json = JSON.stringify(plainT.findResources('AWS::IAM::Policy'));
    assert.match(json, /s3:GetObject/);
    assert.doesNotMatch(json, /Retention/);
  });
});
