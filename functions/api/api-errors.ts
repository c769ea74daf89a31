// Typed errors of the HTTP API: each maps to one status code (see router.ts).
import { CloudkeepError, type CloudkeepErrorOptions } from '../../core/errors.ts';

/** No credentials, or credentials that do not identify anyone: 401. */
export class UnauthenticatedError extends CloudkeepError {
  constructor(message = 'missing or invalid bearer token', options: CloudkeepErrorOptions = {}) {
    super(message, options);
    this.name = 'UnauthenticatedError';
  }
}

/** The caller may not access the account (whether or not it exists): 403. */
export class ForbiddenError extends CloudkeepError {
  constructor(message = 'access denied', options: CloudkeepErrorOptions = {}) {
    super(message, options);
    this.name = 'ForbiddenError';
  }
}

/** The route or the named item does not exist: 404. */
export class NotFoundError extends CloudkeepError {
  constructor(message: string, options: CloudkeepErrorOptions = {}) {
    super(message, options);
    this.name = 'NotFoundError';
  }
}

/** This server was started without what the endpoint needs (an inventory, a runner, a repository): 501. */
export class UnavailableError extends CloudkeepError {
  constructor(message: string, options: CloudkeepErrorOptions = {}) {
    super(message, options);
    this.name = 'UnavailableError';
  }
}
