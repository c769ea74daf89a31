// Typed errors of the orchestration use-cases; handlers map them to user-facing messages.
import { CloudkeepError, type CloudkeepErrorOptions } from '../errors.ts';

/** The policy the run was started for is not in the control store. */
export class PolicyNotFoundError extends CloudkeepError {
  constructor(message: string, options: CloudkeepErrorOptions = {}) {
    super(message, options);
    this.name = 'PolicyNotFoundError';
  }
}

/** A cloud call (snapshot, discovery, role) failed; `retryable` says whether trying again can help. */
export class CloudCallError extends CloudkeepError {
  constructor(message: string, options: CloudkeepErrorOptions = {}) {
    super(message, options);
    this.name = 'CloudCallError';
  }
}

/** A snapshot ended in the error state. */
export class SnapshotFailedError extends CloudkeepError {
  constructor(message: string, options: CloudkeepErrorOptions = {}) {
    super(message, { ...options, retryable: false });
    this.name = 'SnapshotFailedError';
  }
}

/** Every worker slot of the account is taken (core/control/worker-slots.ts): the state machine retries later. */
export class WorkerSlotsBusyError extends CloudkeepError {
  constructor(message: string, options: CloudkeepErrorOptions = {}) {
    super(message, { ...options, retryable: true });
    this.name = 'WorkerSlotsBusyError';
  }
}
