// Translates Azure SDK failures (RestError, network, credential errors) into the store port's typed errors.
import { AbortedError, CloudkeepError } from '../../core/errors.ts';
import { ObjectArchivedError, ObjectNotFoundError, StoreError } from '../../core/store/object-store.ts';

/** Where a failing call went, for messages. Never holds secrets. */
export interface AzureErrorContext {
  account: string;
  container: string;
  description: string;
}

// Service error codes that say "try again later" whatever the status.
const RETRYABLE_ERROR_CODES = new Set(['ServerBusy', 'OperationTimedOut', 'InternalError']);
const RETRYABLE_STATUS = new Set([408, 429, 500, 502, 503, 504]);
// Transport failures: the request may never have reached the service, or its answer was lost.
const NETWORK_CODES = new Set([
  'REQUEST_SEND_ERROR',
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'PARSE_ERROR',
]);
const AUTH_ERROR_CODES = new Set([
  'AuthorizationFailure',
  'AuthenticationFailed',
  'AuthorizationPermissionMismatch',
  'AuthorizationProtocolMismatch',
  'AuthorizationResourceTypeMismatch',
  'AuthorizationServiceMismatch',
  'AuthorizationSourceIPMismatch',
  'InsufficientAccountPermissions',
  'InvalidAuthenticationInfo',
]);
// Raised by @azure/identity when no token can be had: configuration, not a transient fault.
const CREDENTIAL_ERROR_NAMES = new Set(['CredentialUnavailableError', 'AuthenticationError', 'AggregateAuthenticationError']);

/** The fields of an Azure RestError (or a Node system error) this module reads. */
interface ErrorShape {
  name?: unknown;
  message?: unknown;
  code?: unknown;
  statusCode?: unknown;
  details?: unknown;
}

/** The service's error code: x-ms-error-code (in details, also for HEAD answers) or the body's code. */
export function azureErrorCode(err: unknown): string | undefined {
  const shape = (err ?? {}) as ErrorShape;
  const details = shape.details as { errorCode?: unknown } | undefined;
  if (typeof details?.errorCode === 'string') return details.errorCode;
  return typeof shape.code === 'string' ? shape.code : undefined;
}

export function azureStatusCode(err: unknown): number | undefined {
  const status = ((err ?? {}) as ErrorShape).statusCode;
  return typeof status === 'number' ? status : undefined;
}

/**
 * Maps a failure of `op` on `key` to the port's errors; typed errors pass through.
 * The SDK's message is kept only where it cannot carry credential material (never for 401/403).
 */
export function azureErrorToStoreError(err: unknown, op: string, key: string, ctx: AzureErrorContext, signal?: AbortSignal): Error {
  if (err instanceof CloudkeepError) return err;
  if (signal?.aborted) return new AbortedError(`${op} ${key} in ${ctx.description} aborted`, { cause: err });
  const shape = (err ?? {}) as ErrorShape;
  const status = azureStatusCode(err);
  const code = azureErrorCode(err);
  const where = `${op} ${key === '' ? '""' : key} in ${ctx.description}`;
  const name = typeof shape.name === 'string' ? shape.name : '';

  if (code === 'ContainerNotFound') {
    return new StoreError(`container ${ctx.container} does not exist in account ${ctx.account} (${where} failed); create it or fix the repository URL`, key, { cause: err });
  }
  if (code === 'BlobArchived' && op === 'get') return new ObjectArchivedError(key, ctx.description, { cause: err });
  if (status === 404 && op !== 'put' && op !== 'list') return new ObjectNotFoundError(key, { cause: err });
  if (status === 401 || status === 403 || (code !== undefined && AUTH_ERROR_CODES.has(code))) {
    return new StoreError(
      `${where} was refused (${status ?? '?'} ${code ?? 'no error code'}): the credentials are wrong or lack permission on container ${ctx.container} of account ${ctx.account}` +
        ' (a signed-in identity needs a role such as Storage Blob Data Contributor; a shared key must be the account\'s current key)',
      key,
      { cause: err },
    );
  }
  if (CREDENTIAL_ERROR_NAMES.has(name)) {
    return new StoreError(`${where} failed: no Azure credential could be obtained (${firstLine(shape.message)})`, key, { cause: err });
  }
  if ((code !== undefined && RETRYABLE_ERROR_CODES.has(code)) || (status !== undefined && RETRYABLE_STATUS.has(status))) {
    return new StoreError(`${where} failed with ${[status, code].filter((v) => v !== undefined).join(' ')}: the service is busy or failed; a retry may succeed`, key, {
      cause: err,
      retryable: true,
    });
  }
  if (status === undefined && (name === 'AbortError' || name === 'TimeoutError' || (code !== undefined && NETWORK_CODES.has(code)) || isNetworkCause(err))) {
    // An AbortError without the caller's signal aborted comes from a per-try timeout.
    return new StoreError(`${where} failed: could not reach the service (${code ?? name}: ${firstLine(shape.message)})`, key, { cause: err, retryable: true });
  }
  const detail = status === undefined ? firstLine(shape.message) : `${status} ${code ?? ''}: ${firstLine(shape.message)}`;
  return new StoreError(`${where} failed: ${detail}`, key, { cause: err, retryable: false });
}

function isNetworkCause(err: unknown): boolean {
  const cause = (err as { cause?: unknown } | null)?.cause;
  const code = (cause as { code?: unknown } | null)?.code;
  return typeof code === 'string' && NETWORK_CODES.has(code);
}

/** Service messages carry "RequestId:... Time:..." on later lines; the first line says what went wrong. */
function firstLine(message: unknown): string {
  const text = typeof message === 'string' ? message : String(message);
  const line = text.split('\n')[0].trim();
  return line.length > 300 ? `${line.slice(0, 300)}...` : line;
}
