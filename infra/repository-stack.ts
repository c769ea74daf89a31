// The repository bucket (versioned, SSE-KMS, TLS-only, optional Object Lock) and its least-privilege worker grant.
import { Duration, RemovalPolicy, Stack, Validations, type StackProps } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

/** Object Lock default retention applied to every new object version. */
export interface RepositoryObjectLock {
  /** GOVERNANCE can be bypassed with s3:BypassGovernanceRetention (never granted here); COMPLIANCE cannot. */
  readonly mode: 'GOVERNANCE' | 'COMPLIANCE';
  /** Default retention in days; must be at least 1. */
  readonly days: number;
}

export interface RepositoryBucketProps {
  /**
   * Key prefix the repository lives under; worker permissions are scoped to it.
   * @default 'repository'
   */
  readonly prefix?: string;
  /**
   * Object Lock default retention. Can only be enabled when the bucket is created.
   * @default - Object Lock off
   */
  readonly objectLock?: RepositoryObjectLock;
  /**
   * Days after which incomplete multipart uploads are aborted.
   * @default 7
   */
  readonly abortIncompleteMultipartUploadDays?: number;
  /**
   * Days the server access logs are kept.
   * @default 365
   */
  readonly accessLogRetentionDays?: number;
}

/** A repository bucket: customer-managed key, versioning, TLS only, all public access blocked, retained on delete. */
export class RepositoryBucket extends Construct {
  readonly bucket: s3.Bucket;
  readonly key: kms.Key;
  readonly accessLogBucket: s3.Bucket;
  readonly prefix: string;
  readonly objectLock: RepositoryObjectLock | undefined;

  constructor(scope: Construct, id: string, props: RepositoryBucketProps = {}) {
    super(scope, id);
    this.prefix = (props.prefix ?? 'repository').replace(/^\/+|\/+$/g, '');
    if (this.prefix === '' || this.prefix.includes('*')) throw new Error(`invalid repository prefix '${props.prefix}'`);
    this.objectLock = props.objectLock;
    if (this.objectLock && !(Number.isInteger(this.objectLock.days) && this.objectLock.days >= 1)) {
      throw new Error(`objectLock.days must be a positive integer, got ${this.objectLock.days}`);
    }

    this.key = new kms.Key(this, 'Key', {
      description: 'Cloudkeep repository bucket encryption (SSE-KMS)',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    // Server access log delivery supports SSE-S3 only, not SSE-KMS.
    this.accessLogBucket = new s3.Bucket(this, 'AccessLogs', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      removalPolicy: RemovalPolicy.RETAIN,
      lifecycleRules: [{ id: 'expire-access-logs', expiration: Duration.days(props.accessLogRetentionDays ?? 365) }],
    });
    Validations.of(this.accessLogBucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason: 'This is the access-log target bucket itself; logging it into itself would loop.',
    });

    const lock = this.objectLock;
    this.bucket = new s3.Bucket(this, 'Bucket', {
      versioned: true,
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: this.key,
      bucketKeyEnabled: true,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: this.accessLogBucket,
      serverAccessLogsPrefix: 'repository-bucket/',
      objectLockEnabled: lock ? true : undefined,
      objectLockDefaultRetention: lock
        ? lock.mode === 'COMPLIANCE'
          ? s3.ObjectLockRetention.compliance(Duration.days(lock.days))
          : s3.ObjectLockRetention.governance(Duration.days(lock.days))
        : undefined,
      lifecycleRules: [
        { id: 'abort-incomplete-multipart', abortIncompleteMultipartUploadAfter: Duration.days(props.abortIncompleteMultipartUploadDays ?? 7) },
      ],
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }

  private exportedBucketArn: string | undefined;

  /** ARN pattern of every object under the repository prefix, as seen from `consumer`'s stack. */
  objectArnPattern(consumer: Construct = this): string {
    return `${this.bucketArnFor(consumer)}/${this.prefix}/*`;
  }

  /**
   * Another stack sees the bucket ARN through an export with a fixed name (not a hashed automatic
   * one), so the cdk-nag acknowledgement for the prefix wildcard can name it.
   */
  private bucketArnFor(consumer: Construct): string {
    const stack = Stack.of(this);
    if (Stack.of(consumer) === stack) return this.bucket.bucketArn;
    this.exportedBucketArn ??= stack.exportValue(this.bucket.bucketArn, { name: `${stack.stackName}-${this.node.id}-BucketArn` });
    return this.exportedBucketArn;
  }

  /** The cdk-nag finding a grantee's policy raises for the prefix wildcard. */
  private objectWildcardFinding(consumer: Construct): string {
    const stack = Stack.of(this);
    const arn = Stack.of(consumer) === stack
      ? `<${stack.getLogicalId(this.bucket.node.defaultChild as s3.CfnBucket)}.Arn>`
      : `${stack.stackName}-${this.node.id}-BucketArn`;
    return `AwsSolutions-IAM5[Resource::${arn}/${this.prefix}/*]`;
  }

  /**
   * Lets a worker read, write and delete repository objects under the prefix only, list the bucket
   * only below the prefix, manage retention only when Object Lock is on, and use the bucket key
   * only through S3.
   */
  grantWorkerReadWrite(grantee: iam.IGrantable): iam.Grant {
    const objectActions = ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'];
    if (this.objectLock) objectActions.push('s3:PutObjectRetention', 's3:GetObjectRetention');
    return this.grantUnderPrefix(grantee, objectActions, ['kms:Encrypt', 'kms:Decrypt', 'kms:GenerateDataKey']);
  }

  /** Lets a reader (the console API) list and read repository objects under the prefix only, decrypting only through S3. */
  grantRead(grantee: iam.IGrantable): iam.Grant {
    return this.grantUnderPrefix(grantee, ['s3:GetObject'], ['kms:Decrypt']);
  }

  private grantUnderPrefix(grantee: iam.IGrantable, objectActions: string[], keyActions: string[]): iam.Grant {
    const principal = grantee.grantPrincipal;
    const consumer = principal instanceof Construct ? principal : this;
    const grant = iam.Grant.addToPrincipal({ grantee, actions: objectActions, resourceArns: [this.objectArnPattern(consumer)] });
    grant.combine(
      iam.Grant.addToPrincipal({
        grantee,
        actions: ['s3:ListBucket'],
        resourceArns: [this.bucketArnFor(consumer)],
        conditions: { StringLike: { 's3:prefix': [`${this.prefix}/*`] } },
      }),
    );
    grant.combine(
      iam.Grant.addToPrincipal({
        grantee,
        actions: keyActions,
        resourceArns: [this.key.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `s3.${Stack.of(this).region}.amazonaws.com` } },
      }),
    );
    if (principal instanceof Construct) {
      Validations.of(principal).acknowledge({
        id: this.objectWildcardFinding(consumer),
        reason: 'Object keys are content hashes written at run time; the wildcard is limited to the repository prefix.',
      });
    }
    return grant;
  }
}

export interface RepositoryStackProps extends StackProps, RepositoryBucketProps {}

/** One repository per stack, so a repository can live in its own region next to its workers. */
export class RepositoryStack extends Stack {
  readonly repository: RepositoryBucket;

  constructor(scope: Construct, id: string, props: RepositoryStackProps = {}) {
    super(scope, id, props);
    this.repository = new RepositoryBucket(this, 'Repository', props);
  }
}
