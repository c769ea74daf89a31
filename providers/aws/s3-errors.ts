// Translates AWS SDK and network errors from S3 calls into the port's typed errors (kopia's translateError).
import { AbortedError, CloudkeepError } from '../../core/errors.ts';
import { ObjectArchivedError, ObjectNotFoundError, StoreError } from '../../core/store/object-store.ts';

export type S3Op = 'put' | 'get' | 'stat' | 'list' | 'delete' | 'deleteMany' | 'extendRetention' | 'tierOf' | 'requestRehydrate';

export interface S3ErrorContext {
  op: S3Op;
  /** The core key (or list prefix) the call was about. */
  key: string;
  bucket: string;
  region: string;
  /** s3://bucket/prefix, for messages. */
  where: string;
  signal?: AbortSignal;
}

const NOT_FOUND_NAMES = new Set(['NoSuchKey', 'NotFound', 'NoSuchVersion']);
const AUTH_NAMES = new Set([
  'AccessDenied', 'Forbidden', 'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'ExpiredToken', 'TokenRefreshRequired',
  'InvalidToken', 'AllAccessDisabled', 'AccountProblem', 'InvalidClientTokenId', 'UnrecognizedClientException',
]);
/** Service answers that mean "try again later" (throttling, internal errors, clock skew the SDK has corrected). */
const RETRYABLE_NAMES = new Set([
  'SlowDown', 'ServiceUnavailable', 'InternalError', 'Throttling', 'ThrottlingException', 'ThrottledException',
  'RequestThrottled', 'RequestThrottledException', 'TooManyRequestsException', 'RequestLimitExceeded',
  'BandwidthLimitExceeded', 'ProvisionedThroughputExceededException', 'PriorRequestNotComplete',
  'EC2ThrottledException', 'TransactionInProgressException', 'RequestTimeout', 'RequestTimeoutException',
  'RequestTimeTooSkewed', 'RequestExpired', 'OperationAborted', 'TimeoutError',
]);
const RETRYABLE_STATUS = new Set([429, 500, 502, 503, 504]);
/** Socket-level failures: the request may not have arrived or its answer was lost. */
const NETWORK_CODES = new Set([
  'ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ENETUNREACH', 'ENETDOWN',
  'EHOSTUNREACH', 'EHOSTDOWN', 'ESOCKETTIMEDOUT', 'UND_ERR_SOCKET', 'ERR_STREAM_PREMATURE_CLOSE',
]);

interface SdkErrorShape {
  name?: unknown;
  code?: unknown;
  Code?: unknown;
  message?: unknown;
  $metadata?: { httpStatusCode?: unknown };
  $retryable?: unknown;
}

function fieldOf(err: unknown): SdkErrorShape {
  return typeof err === 'object' && err !== null ? (err as SdkErrorShape) : {};
}

/** The S3 error code (NoSuchKey, SlowDown...) or, for network errors, the Node error code. */
export function errorCode(err: unknown): string | undefined {
  const e = fieldOf(err);
  for (const v of [e.Code, e.name, e.code]) {
    if (typeof v === 'string' && v !== 'Error' && v !== 'S3ServiceException' && v !== 'Unknown' && v !== 'UnknownError') return v;
  }
  return undefined;
}

export function httpStatus(err: unknown): number | undefined {
  const status = fieldOf(err).$metadata?.httpStatusCode;
  return typeof status === 'number' ? status : undefined;
}

function isNetworkError(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e !== undefined && e !== null && depth < 4; depth++) {
    const f = fieldOf(e);
    if (typeof f.code === 'string' && NETWORK_CODES.has(f.code)) return true;
    if (f.name === 'TimeoutError') return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

function briefOf(err: unknown): string {
  const code = errorCode(err);
  const message = typeof fieldOf(err).message === 'string' ? (fieldOf(err).message as string) : String(err);
  const status = httpStatus(err);
  // Only the code, status and first line of the message: S3 error bodies can echo request details.
  const first = message.split('\n')[0].slice(0, 300);
  return [code, status === undefined ? undefined : `HTTP ${status}`, first].filter((part) => part !== undefined && part !== '').join(', ');
}

/** Maps any error from an S3 call to ObjectNotFoundError, StoreError or AbortedError; typed errors pass through. */
export function translateS3Error(err: unknown, ctx: S3ErrorContext): Error {
  if (err instanceof CloudkeepError) return err;
  const { op, key, bucket, region, where } = ctx;
  const code = errorCode(err);
  const status = httpStatus(err);
  if (ctx.signal?.aborted || code === 'AbortError') {
    return new AbortedError(`${op} ${key} in ${where} aborted`, { cause: ctx.signal?.reason ?? err });
  }
  if (code === 'NoSuchBucket') {
    return new StoreError(`bucket ${bucket} does not exist (region ${region}): create it, or check the repository URL and region`, key, { cause: err });
  }
  if ((op === 'get' || op === 'stat' || op === 'tierOf' || op === 'requestRehydrate') && (NOT_FOUND_NAMES.has(code ?? '') || (status === 404 && code !== 'NoSuchBucket'))) {
    return new ObjectNotFoundError(key, { cause: err });
  }
  // Answered 403 like a refusal, so checked first: a GET of an archived object not yet restored.
  if (code === 'InvalidObjectState') {
    if (op === 'get') return new ObjectArchivedError(key, where, { cause: err });
    return new StoreError(`${op} ${key} in ${where} failed: the object's storage class does not allow it (InvalidObjectState)`, key, { cause: err });
  }
  if (AUTH_NAMES.has(code ?? '') || status === 403 || code === 'CredentialsProviderError') {
    const what = code === 'CredentialsProviderError' ? 'no AWS credentials were found' : `the credentials are wrong or lack permission (${code ?? `HTTP ${status}`})`;
    return new StoreError(
      `${op} ${key} in bucket ${bucket} (region ${region}) was refused: ${what}; check the AWS credentials (environment, profile or role) and the bucket policy`,
      key,
      { cause: err },
    );
  }
  if (code === 'PermanentRedirect' || code === 'AuthorizationHeaderMalformed' || code === 'IllegalLocationConstraintException' || status === 301) {
    return new StoreError(`bucket ${bucket} is not in region ${region}: set the bucket's region in the repository URL (?region=...)`, key, { cause: err });
  }
  if (code === 'ENOTFOUND') {
    return new StoreError(`${op} ${key} in ${where} failed: the S3 endpoint's host name does not resolve`, key, { cause: err });
  }
  if (op === 'stat' && status === 400 && code === undefined) {
    return new StoreError(`stat ${key} in ${where} failed: HTTP 400 without details (HEAD answers carry no error body; expired or invalid session credentials are a common cause)`, key, { cause: err });
  }
  const retryable = RETRYABLE_NAMES.has(code ?? '') || (status !== undefined && RETRYABLE_STATUS.has(status)) || isNetworkError(err) || fieldOf(err).$retryable !== undefined;
  return new StoreError(`${op} ${key} in ${where} failed: ${briefOf(err)}`, key, { cause: err, retryable });
}
