// Where the console is served: a private bucket behind CloudFront (origin access control, HTTPS only,
// security headers), SPA routes rewritten to /index.html, and /api/* passed uncached to the HTTP API.
import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

/**
 * Viewer-request function of the console files: a page navigation (Accept: text/html) or a path
 * without a file extension is a console route, served from /index.html; hashed assets pass through.
 * (Distribution-wide custom error responses would also rewrite the API's 401/403/404 answers.)
 */
export const SPA_ROUTING_CODE = `function handler(event) {
  var request = event.request;
  var uri = request.uri;
  if (uri.indexOf('/assets/') === 0) return request;
  var accept = request.headers.accept ? request.headers.accept.value : '';
  var last = uri.substring(uri.lastIndexOf('/') + 1);
  if (accept.indexOf('text/html') !== -1 || last.indexOf('.') === -1) request.uri = '/index.html';
  return request;
}`;

/** Viewer-request function of /api/*: the API serves its routes at the root, so /api/accounts becomes /accounts. */
export const STRIP_API_PREFIX_CODE = `function handler(event) {
  var request = event.request;
  request.uri = request.uri.substring('/api'.length);
  return request;
}`;

export interface ConsoleCustomDomain {
  /** Host names of the console, e.g. ['backup.example.com']. */
  readonly domainNames: string[];
  /** ARN of an ACM certificate in us-east-1 covering them. */
  readonly certificateArn: string;
}

export interface ConsoleHostingProps {
  readonly httpApi: apigw.IHttpApi;
  /** Origins the console's scripts may call besides its own (Cognito sign-in and token endpoints). */
  readonly connectSources: string[];
  /** @default - the distribution's *.cloudfront.net name */
  readonly customDomain?: ConsoleCustomDomain;
}

export class ConsoleHosting extends Construct {
  readonly bucket: s3.Bucket;
  readonly logBucket: s3.Bucket;
  readonly distribution: cloudfront.Distribution;
  /** https://<console host>, without a trailing slash. */
  readonly url: string;

  constructor(scope: Construct, id: string, props: ConsoleHostingProps) {
    super(scope, id);
    // CloudFront standard logs are delivered with ACLs: this log bucket alone keeps them enabled.
    this.logBucket = new s3.Bucket(this, 'Logs', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
      removalPolicy: RemovalPolicy.RETAIN,
      lifecycleRules: [{ id: 'expire-logs', expiration: Duration.days(365) }],
    });
    Validations.of(this.logBucket).acknowledge({ id: 'AwsSolutions-S1', reason: 'This is the access-log target bucket itself; logging it into itself would loop.' });

    this.bucket = new s3.Bucket(this, 'Files', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: this.logBucket,
      serverAccessLogsPrefix: 'console-bucket/',
      removalPolicy: RemovalPolicy.RETAIN,
    });

    const viewerRequest = (name: string, code: string, comment: string): cloudfront.FunctionAssociation[] => [{
      eventType: cloudfront.FunctionEventType.VIEWER_REQUEST,
      function: new cloudfront.Function(this, name, { code: cloudfront.FunctionCode.fromInline(code), runtime: cloudfront.FunctionRuntime.JS_2_0, comment }),
    }];
    const headers = this.securityHeaders(props.connectSources);
    const stack = Stack.of(this);
    const apiOrigin = new origins.HttpOrigin(`${props.httpApi.apiId}.execute-api.${stack.region}.${stack.urlSuffix}`, { protocolPolicy: cloudfront.OriginProtocolPolicy.HTTPS_ONLY });
    const domain = props.customDomain;
    this.distribution = new cloudfront.Distribution(this, 'Distribution', {
      comment: 'Cloudkeep console',
      defaultRootObject: 'index.html',
      httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
      defaultBehavior: {
        origin: origins.S3BucketOrigin.withOriginAccessControl(this.bucket),
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        cachePolicy: cloudfront.CachePolicy.CACHING_OPTIMIZED,
        responseHeadersPolicy: headers,
        functionAssociations: viewerRequest('SpaRouting', SPA_ROUTING_CODE, 'Cloudkeep console: console routes to /index.html'),
      },
      additionalBehaviors: {
        '/api/*': {
          origin: apiOrigin,
          // API clients are not redirected (a redirected POST loses its body).
          viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
          allowedMethods: cloudfront.AllowedMethods.ALLOW_ALL,
          cachePolicy: cloudfront.CachePolicy.CACHING_DISABLED,
          // With caching disabled, the all-viewer policy forwards Authorization too (Host stays the API's).
          originRequestPolicy: cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
          responseHeadersPolicy: headers,
          functionAssociations: viewerRequest('StripApiPrefix', STRIP_API_PREFIX_CODE, 'Cloudkeep console: /api/x to the API as /x'),
        },
      },
      ...(domain
        ? {
            domainNames: domain.domainNames,
            certificate: acm.Certificate.fromCertificateArn(this, 'Certificate', domain.certificateArn),
            minimumProtocolVersion: cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021,
            sslSupportMethod: cloudfront.SSLMethod.SNI,
          }
        : {}),
      enableLogging: true,
      logBucket: this.logBucket,
      logFilePrefix: 'cloudfront/',
    });
    this.url = `https://${domain ? domain.domainNames[0] : this.distribution.distributionDomainName}`;
    this.acknowledgeFindings(domain !== undefined);
  }

  private securityHeaders(connectSources: string[]): cloudfront.ResponseHeadersPolicy {
    // The local server's CONSOLE_CSP (functions/api/static-files.ts; a test keeps them equal), plus the Cognito endpoints the sign-in calls.
    const csp = ["default-src 'self'", "script-src 'self'", "style-src 'self' 'unsafe-inline'", "img-src 'self' data:", "font-src 'self' data:",
      ["connect-src 'self'", ...connectSources].join(' '), "object-src 'none'", "base-uri 'self'", "form-action 'self'", "frame-ancestors 'none'"].join('; ');
    return new cloudfront.ResponseHeadersPolicy(this, 'SecurityHeaders', {
      comment: 'Cloudkeep console security headers',
      securityHeadersBehavior: {
        contentSecurityPolicy: { contentSecurityPolicy: csp, override: true },
        contentTypeOptions: { override: true },
        frameOptions: { frameOption: cloudfront.HeadersFrameOption.DENY, override: true },
        referrerPolicy: { referrerPolicy: cloudfront.HeadersReferrerPolicy.NO_REFERRER, override: true },
        strictTransportSecurity: { accessControlMaxAge: Duration.days(730), includeSubdomains: true, override: true },
      },
    });
  }

  private acknowledgeFindings(customDomain: boolean): void {
    const ack = (id: string, reason: string) => Validations.of(this.distribution).acknowledge({ id, reason });
    ack('AwsSolutions-CFR1', 'Operators sign in from anywhere; access needs a Cognito user with MFA, not a location.');
    ack('AwsSolutions-CFR2', 'A WAF web ACL for CloudFront must live in us-east-1, outside this regional stack; Cognito threat protection guards sign-in and the API throttles.');
    if (!customDomain) {
      ack('AwsSolutions-CFR4', 'The default *.cloudfront.net certificate cannot set a minimum TLS version; give consoleDomainName and consoleCertificateArn to get TLSv1.2_2021.');
    }
  }
}
