// Translates AWS SDK errors from EBS direct API and EC2 calls into CloudkeepErrors that say whether a retry helps.
import { AbortedError, CloudkeepError } from '../../core/errors.ts';

const THROTTLE_NAMES = new Set([
  'ThrottlingException', 'Throttling', 'RequestThrottledException', 'RequestThrottled', 'TooManyRequestsException',
  'RequestLimitExceeded', 'EC2ThrottledException', 'SlowDown', 'ConcurrentLimitExceededException',
]);
const ACCESS_NAMES = new Set([
  'AccessDeniedException', 'AccessDenied', 'UnauthorizedOperation', 'AuthFailure', 'InvalidClientTokenId',
  'UnrecognizedClientException', 'SignatureDoesNotMatch', 'ExpiredToken', 'ExpiredTokenException',
]);
const RETRYABLE_NAMES = new Set(['InternalServerException', 'InternalError', 'ServiceUnavailable', 'Unavailable', 'RequestTimeout', 'TimeoutError']);
const NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH', 'UND_ERR_SOCKET', 'ERR_STREAM_PREMATURE_CLOSE']);

/** An EBS/EC2 failure: `code` is the service error name, `reason` the EBS Reason field when given. */
export class EbsError extends CloudkeepError {
  readonly code: string;
  readonly reason: string | undefined;
  readonly status: number | undefined;
  /** The service asked us to slow down: the read quota backs off and counts the time. */
  readonly throttled: boolean;
  constructor(message: string, opts: { code: string; reason?: string; status?: number; throttled?: boolean; retryable?: boolean; cause?: unknown }) {
    super(message, { cause: opts.cause, retryable: opts.retryable ?? false });
    this.name = 'EbsError';
    this.code = opts.code;
    this.reason = opts.reason;
    this.status = opts.status;
    this.throttled = opts.throttled ?? false;
  }
}

interface SdkShape {
  name?: unknown;
  code?: unknown;
  Code?: unknown;
  Reason?: unknown;
  message?: unknown;
  $metadata?: { httpStatusCode?: unknown };
}

function shapeOf(err: unknown): SdkShape {
  return typeof err === 'object' && err !== null ? (err as SdkShape) : {};
}

/** The service error name (ValidationException, InvalidSnapshot.NotFound...) or a Node network code. */
export function sdkErrorCode(err: unknown): string {
  const e = shapeOf(err);
  for (const v of [e.Code, e.name, e.code]) {
    if (typeof v === 'string' && v !== 'Error' && v !== 'Unknown' && !v.endsWith('ServiceException')) return v;
  }
  return 'Unknown';
}

/** Wraps any error from an SDK call; `what` names the operation and its subject for the message. */
export function translateEbsError(err: unknown, what: string, signal?: AbortSignal): CloudkeepError {
  if (err instanceof CloudkeepError) return err;
  if (signal?.aborted || shapeOf(err).name === 'AbortError') return new AbortedError(`${what}: aborted`, { cause: err });
  const e = shapeOf(err);
  const code = sdkErrorCode(err);
  const status = typeof e.$metadata?.httpStatusCode === 'number' ? e.$metadata.httpStatusCode : undefined;
  const reason = typeof e.Reason === 'string' ? e.Reason : undefined;
  const msg = typeof e.message === 'string' ? e.message : String(err);
  const detail = `${code}${reason ? ` (${reason})` : ''}: ${msg}`;
  if (THROTTLE_NAMES.has(code) || status === 429) {
    return new EbsError(`${what}: throttled by AWS, ${detail}`, { code, reason, status, throttled: true, retryable: true, cause: err });
  }
  if (ACCESS_NAMES.has(code) || status === 403) {
    return new EbsError(`${what}: access denied (${detail}); the worker role needs ebs:ListSnapshotBlocks, ebs:ListChangedBlocks, ebs:GetSnapshotBlock (and ebs:StartSnapshot, ebs:PutSnapshotBlock, ebs:CompleteSnapshot for restores), ec2:DescribeSnapshots and, for encrypted snapshots, kms:Decrypt on the key`, { code, reason, status, cause: err });
  }
  const retryable = RETRYABLE_NAMES.has(code) || NETWORK_CODES.has(code) || (status !== undefined && status >= 500);
  return new EbsError(`${what}: ${detail}`, { code, reason, status, retryable, cause: err });
}

/** True for a read whose block token expired or is not valid any more: list the range again for fresh tokens. */
export function isBadBlockToken(err: unknown): boolean {
  return err instanceof EbsError && err.code === 'ValidationException' && (err.reason === 'INVALID_BLOCK_TOKEN' || /token/i.test(err.message));
}

/** True when ListChangedBlocks cannot compare the two snapshots: unrelated lineage or a base that no longer exists. */
export function isNoLineage(err: unknown): boolean {
  if (!(err instanceof EbsError)) return false;
  if (err.code === 'ResourceNotFoundException') return true;
  if (err.code !== 'ValidationException') return false;
  return err.reason === 'UNRELATED_SNAPSHOTS' || err.reason === 'INVALID_DEPENDENCY_REQUEST' || /lineage|unrelated|not related|does not exist|not found/i.test(err.message);
}
