// Typed errors of the control-plane store: conflicts, invalid transitions, missing items, backend failures.
import { CloudkeepError, type CloudkeepErrorOptions } from '../errors.ts';

/** A compare-and-set lost: the item changed (or appeared) since the caller read it. Re-read and decide. */
export class ConflictError extends CloudkeepError {
  readonly item: string;
  constructor(item: string, detail: string, options: CloudkeepErrorOptions = {}) {
    super(`conflict on ${item}: ${detail}`, { ...options, retryable: false });
    this.name = 'ConflictError';
    this.item = item;
  }
}

/** A status change the lifecycle forbids, e.g. a finished session back to running. */
export class InvalidTransitionError extends CloudkeepError {
  readonly item: string;
  readonly from: string;
  readonly to: string;
  constructor(item: string, from: string, to: string, options: CloudkeepErrorOptions = {}) {
    super(`invalid transition of ${item}: ${from} -> ${to}`, { ...options, retryable: false });
    this.name = 'InvalidTransitionError';
    this.item = item;
    this.from = from;
    this.to = to;
  }
}

/** An update named a session or task the account does not have. */
export class ControlNotFoundError extends CloudkeepError {
  readonly item: string;
  constructor(item: string, options: CloudkeepErrorOptions = {}) {
    super(`not found: ${item}`, { ...options, retryable: false });
    this.name = 'ControlNotFoundError';
    this.item = item;
  }
}

/** The backend could not be reached or refused the call; `retryable` says if trying again may help. */
export class ControlStoreError extends CloudkeepError {
  constructor(message: string, options: CloudkeepErrorOptions = {}) {
    super(message, options);
    this.name = 'ControlStoreError';
  }
}
