// The Scheduler port on EventBridge Scheduler: schedules in one group that start the backup state machine.
import {
  CreateScheduleCommand, DeleteScheduleCommand, GetScheduleCommand, ListSchedulesCommand, SchedulerClient, UpdateScheduleCommand,
  type CreateScheduleCommandInput,
} from '@aws-sdk/client-scheduler';
import { AbortedError, InvalidArgumentError } from '../../core/errors.ts';
import { SCHEDULE_PREFIX, SchedulerError, type ScheduleSpec, type Scheduler, type SchedulerIoOptions } from '../../core/policy/scheduler-port.ts';

export interface AwsSchedulerOptions {
  /** A client of your own; else one is made from region and endpoint. */
  client?: SchedulerClient;
  region?: string;
  /** Endpoint override (tests point it at a local server). */
  endpoint?: string;
  /** SDK attempts per call. @default 3 */
  maxAttempts?: number;
}

type SdkError = { name?: string; message?: string; $retryable?: unknown; $metadata?: { httpStatusCode?: number } };
const RETRYABLE = new Set(['ThrottlingException', 'InternalServerException', 'ServiceUnavailableException']);

/** SDK failures as Cloudkeep errors naming the call; `expected` names errors the caller handles itself. */
function translate(what: string, err: unknown, signal: AbortSignal | undefined): Error {
  const e = (err ?? {}) as SdkError;
  if (signal?.aborted || e.name === 'AbortError') return new AbortedError(`${what}: aborted`, { cause: signal?.reason ?? err });
  const status = e.$metadata?.httpStatusCode ?? 0;
  const detail = `${e.name ?? 'Error'}: ${e.message ?? String(err)}`;
  if (e.name === 'ValidationException') return new InvalidArgumentError(`${what} was refused by EventBridge Scheduler: ${detail}`, { cause: err });
  if (e.name === 'ResourceNotFoundException') return new SchedulerError(`${what} failed: ${detail} (does the schedule group exist? it is created by the control-plane stack)`, { cause: err });
  const retryable = Boolean(e.$retryable) || status >= 500 || status === 429 || RETRYABLE.has(e.name ?? '');
  return new SchedulerError(`${what} failed: ${detail}`, { cause: err, retryable });
}

const isNamed = (err: unknown, name: string): boolean => (err as SdkError | undefined)?.name === name;

export class AwsScheduler implements Scheduler {
  readonly description: string;
  private readonly client: SchedulerClient;

  constructor(options: AwsSchedulerOptions = {}) {
    this.client = options.client ?? new SchedulerClient({
      ...(options.region ? { region: options.region } : {}),
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
      maxAttempts: options.maxAttempts ?? 3,
    });
    this.description = 'EventBridge Scheduler';
  }

  async list(groupName: string, options: SchedulerIoOptions = {}): Promise<ScheduleSpec[]> {
    const names: string[] = [];
    let next: string | undefined;
    do {
      const page = await this.call(`ListSchedules in group ${groupName}`, options, (abortSignal) =>
        this.client.send(new ListSchedulesCommand({ GroupName: groupName, NamePrefix: SCHEDULE_PREFIX, ...(next ? { NextToken: next } : {}) }), { abortSignal }));
      for (const s of page.Schedules ?? []) if (s.Name?.startsWith(SCHEDULE_PREFIX)) names.push(s.Name);
      next = page.NextToken || undefined;
    } while (next);
    const out: ScheduleSpec[] = [];
    // The summaries carry no expression or input: each schedule is read to compare it with the desired one.
    for (const name of names.sort()) {
      let got;
      try {
        got = await this.client.send(new GetScheduleCommand({ Name: name, GroupName: groupName }), { abortSignal: options.signal });
      } catch (err) {
        if (isNamed(err, 'ResourceNotFoundException')) continue; // deleted since it was listed
        throw translate(`GetSchedule ${groupName}/${name}`, err, options.signal);
      }
      out.push({
        name,
        groupName: got.GroupName ?? groupName,
        expression: got.ScheduleExpression ?? '',
        timeZone: got.ScheduleExpressionTimezone ?? 'UTC',
        targetArn: got.Target?.Arn ?? '',
        roleArn: got.Target?.RoleArn ?? '',
        input: got.Target?.Input ?? '',
        ...(got.State === 'DISABLED' ? { state: 'DISABLED' as const } : {}),
      });
    }
    return out;
  }

  async create(spec: ScheduleSpec, options: SchedulerIoOptions = {}): Promise<void> {
    try {
      await this.client.send(new CreateScheduleCommand(request(spec)), { abortSignal: options.signal });
    } catch (err) {
      if (!isNamed(err, 'ConflictException')) throw translate(`CreateSchedule ${spec.groupName}/${spec.name}`, err, options.signal);
      await this.call(`UpdateSchedule ${spec.groupName}/${spec.name}`, options, (abortSignal) => this.client.send(new UpdateScheduleCommand(request(spec)), { abortSignal }));
    }
  }

  async update(spec: ScheduleSpec, options: SchedulerIoOptions = {}): Promise<void> {
    try {
      await this.client.send(new UpdateScheduleCommand(request(spec)), { abortSignal: options.signal });
    } catch (err) {
      if (!isNamed(err, 'ResourceNotFoundException')) throw translate(`UpdateSchedule ${spec.groupName}/${spec.name}`, err, options.signal);
      await this.call(`CreateSchedule ${spec.groupName}/${spec.name}`, options, (abortSignal) => this.client.send(new CreateScheduleCommand(request(spec)), { abortSignal }));
    }
  }

  async delete(groupName: string, name: string, options: SchedulerIoOptions = {}): Promise<void> {
    try {
      await this.client.send(new DeleteScheduleCommand({ Name: name, GroupName: groupName }), { abortSignal: options.signal });
    } catch (err) {
      if (!isNamed(err, 'ResourceNotFoundException')) throw translate(`DeleteSchedule ${groupName}/${name}`, err, options.signal);
    }
  }

  private async call<T>(what: string, options: SchedulerIoOptions, send: (signal: AbortSignal | undefined) => Promise<T>): Promise<T> {
    try {
      return await send(options.signal);
    } catch (err) {
      throw translate(what, err, options.signal);
    }
  }
}

/** CreateSchedule and UpdateSchedule take the same full definition. */
function request(spec: ScheduleSpec): CreateScheduleCommandInput {
  return {
    Name: spec.name,
    GroupName: spec.groupName,
    ScheduleExpression: spec.expression,
    ScheduleExpressionTimezone: spec.timeZone,
    FlexibleTimeWindow: { Mode: 'OFF' },
    State: spec.state ?? 'ENABLED',
    Description: 'Cloudkeep policy schedule (managed by "cloudkeep policy apply")',
    Target: { Arn: spec.targetArn, RoleArn: spec.roleArn, Input: spec.input },
  };
}
