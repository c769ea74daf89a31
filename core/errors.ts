// Typed errors shared by every layer: each says whether a retry can help.

export interface CloudkeepErrorOptions {
  cause?: unknown;
  /** true when the same call may succeed if tried again (throttling, network). */
  retryable?: boolean;
}

export class CloudkeepError extends Error {
  readonly retryable: boolean;
  constructor(message: string, options: CloudkeepErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CloudkeepError';
    this.retryable = options.retryable ?? false;
  }
}

/** Bad input from a user: names the bad value and what was expected. */
export class InvalidArgumentError extends CloudkeepError {
  constructor(message: string, options: CloudkeepErrorOptions = {}) {
    super(message, options);
    this.name = 'InvalidArgumentError';
  }
}

/** Repository content failed authentication, parsing or a cross-check. Never retryable. */
export class CorruptObjectError extends CloudkeepError {
  readonly key: string;
  constructor(key: string, detail: string, options: CloudkeepErrorOptions = {}) {
    super(`corrupt object ${key}: ${detail}`, { ...options, retryable: false });
    this.name = 'CorruptObjectError';
    this.key = key;
  }
}

/** The passphrase (or other key material) does not unlock any key of the repository. */
export class WrongKeyError extends CloudkeepError {
  constructor(message: string, options: CloudkeepErrorOptions = {}) {
    super(message, options);
    this.name = 'WrongKeyError';
  }
}

/** The location holds no repository, or something that is not a Cloudkeep repository. */
export class RepositoryNotFoundError extends CloudkeepError {
  constructor(message: string, options: CloudkeepErrorOptions = {}) {
    super(message, options);
    this.name = 'RepositoryNotFoundError';
  }
}

/** The repository was written by a newer or unknown format version. */
export class UnsupportedFormatError extends CloudkeepError {
  constructor(message: string, options: CloudkeepErrorOptions = {}) {
    super(message, options);
    this.name = 'UnsupportedFormatError';
  }
}

/** The operation was cancelled through its AbortSignal. */
export class AbortedError extends CloudkeepError {
  constructor(message = 'operation aborted', options: CloudkeepErrorOptions = {}) {
    super(message, options);
    this.name = 'AbortedError';
  }
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AbortedError('operation aborted', { cause: signal.reason });
}
