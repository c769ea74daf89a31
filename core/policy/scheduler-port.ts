// The Scheduler port: named schedules in a group that start the backup state machine (EventBridge Scheduler or local files).
import { CloudkeepError, type CloudkeepErrorOptions } from '../errors.ts';

/** Every schedule Cloudkeep manages has a name starting with this. */
export const SCHEDULE_PREFIX = 'cloudkeep-';

/** One schedule, as EventBridge Scheduler models it (FlexibleTimeWindow is always OFF). */
export interface ScheduleSpec {
  name: string;
  groupName: string;
  /** cron(min hour dom month dow year) or rate(N unit). */
  expression: string;
  /** IANA time zone of a cron expression. */
  timeZone: string;
  /** The state machine to start. */
  targetArn: string;
  /** The role EventBridge assumes to start it. */
  roleArn: string;
  /** The execution input: JSON text. */
  input: string;
  /** DISABLED: the schedule exists but does not fire (a disabled policy). Absent: ENABLED. */
  state?: 'ENABLED' | 'DISABLED';
}

export interface SchedulerIoOptions {
  signal?: AbortSignal;
}

export interface Scheduler {
  /** A short description for messages, e.g. "eventbridge-scheduler (group cloudkeep)". */
  readonly description: string;
  /** Every schedule in the group whose name starts with SCHEDULE_PREFIX, sorted by name. */
  list(groupName: string, options?: SchedulerIoOptions): Promise<ScheduleSpec[]>;
  /** Creates the schedule; one that already exists is updated instead. */
  create(spec: ScheduleSpec, options?: SchedulerIoOptions): Promise<void>;
  /** Replaces the schedule; one that does not exist is created instead. */
  update(spec: ScheduleSpec, options?: SchedulerIoOptions): Promise<void>;
  /** Deletes the schedule; a missing one is fine. */
  delete(groupName: string, name: string, options?: SchedulerIoOptions): Promise<void>;
}

/** A scheduler backend failed or refused a call; `retryable` says if trying again may help. */
export class SchedulerError extends CloudkeepError {
  constructor(message: string, options: CloudkeepErrorOptions = {}) {
    super(message, options);
    this.name = 'SchedulerError';
  }
}
