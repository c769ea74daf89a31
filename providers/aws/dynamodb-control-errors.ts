// Translates DynamoDB SDK errors into Cloudkeep errors at the adapter boundary; no SDK error escapes.
import { AbortedError, CloudkeepError } from '../../core/errors.ts';
import { ConflictError, ControlStoreError } from '../../core/control/control-errors.ts';

const RETRYABLE_NAMES = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'LimitExceededException',
  'InternalServerError',
  'ServiceUnavailable',
  'TransactionConflictException',
  'TimeoutError',
  'RequestTimeout',
]);
const NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ENOTFOUND', 'EHOSTUNREACH', 'ECONNABORTED']);

interface SdkErrorShape {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  $retryable?: unknown;
}

/** `item` names what the call touched, e.g. "policy p1"; it goes into the message. */
export function translateDynamoError(err: unknown, item: string, signal?: AbortSignal): Error {
  if (err instanceof CloudkeepError) return err;
  const e = (typeof err === 'object' && err !== null ? err : {}) as SdkErrorShape;
  if (signal?.aborted || e.name === 'AbortError') return new AbortedError('operation aborted', { cause: signal?.reason ?? err });
  if (e.name === 'ConditionalCheckFailedException') return new ConflictError(item, 'the stored item changed', { cause: err });
  const status = e.$metadata?.httpStatusCode;
  const retryable =
    RETRYABLE_NAMES.has(e.name ?? '') ||
    NETWORK_CODES.has(e.code ?? '') ||
    e.$retryable !== undefined ||
    (status !== undefined && (status >= 500 || status === 429));
  const what = e.name ?? 'error';
  return new ControlStoreError(`DynamoDB call on ${item} failed: ${what}${status ? ` (HTTP ${status})` : ''}`, { cause: err, retryable });
}
