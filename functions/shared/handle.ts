// The handler skeleton: parse the input with zod, run one use-case, map typed errors to user-facing ones.
import type { Context } from 'aws-lambda';
import { z } from 'zod';
import { CloudkeepError, InvalidArgumentError } from '../../core/errors.ts';
import { ControlStoreError } from '../../core/control/control-errors.ts';
import { CloudCallError, PolicyNotFoundError, SnapshotFailedError, WorkerSlotsBusyError } from '../../core/orchestration/errors.ts';
import { logger } from './logger.ts';

/** What Step Functions sees: `name` becomes the state's Error (Retry/Catch match it), `message` its Cause. */
export class HandlerError extends Error {
  constructor(code: string, message: string) {
    super(message);
    this.name = code;
  }
}

/** Error codes a state machine can Retry on. */
export const RETRYABLE_CODES = ['Cloudkeep.Retryable'];

export function mapError(err: unknown, requestId: string): HandlerError {
  const ref = `(request ${requestId})`;
  if (err instanceof z.ZodError) return new HandlerError('Cloudkeep.InvalidInput', `invalid input: ${z.prettifyError(err).replace(/\n/g, '; ')} ${ref}`);
  if (err instanceof PolicyNotFoundError) return new HandlerError('Cloudkeep.PolicyNotFound', `${err.message} ${ref}`);
  if (err instanceof WorkerSlotsBusyError) return new HandlerError('Cloudkeep.WorkerSlotsBusy', `${err.message} ${ref}`);
  if (err instanceof SnapshotFailedError) return new HandlerError('Cloudkeep.SnapshotFailed', `${err.message} ${ref}`);
  if (err instanceof InvalidArgumentError) return new HandlerError('Cloudkeep.InvalidInput', `${err.message} ${ref}`);
  if ((err instanceof CloudCallError || err instanceof ControlStoreError) && err.retryable) return new HandlerError('Cloudkeep.Retryable', `${err.message} ${ref}`);
  if (err instanceof CloudCallError) return new HandlerError('Cloudkeep.CloudCallFailed', `${err.message} ${ref}`);
  if (err instanceof CloudkeepError) return new HandlerError('Cloudkeep.Failed', `${err.message} ${ref}`);
  return new HandlerError('Cloudkeep.InternalError', `internal error; see the logs of ${ref}`);
}

/** Parses `event` with `schema`, runs `useCase`, logs, and throws only HandlerErrors. */
export async function handle<S extends z.ZodType, R>(name: string, schema: S, event: unknown, context: Partial<Context> | undefined, useCase: (input: z.infer<S>) => Promise<R>): Promise<R> {
  const requestId = context?.awsRequestId ?? 'local';
  logger.appendKeys({ handler: name, requestId });
  try {
    const result = await useCase(schema.parse(event));
    logger.info(`${name} done`);
    return result;
  } catch (err) {
    const mapped = mapError(err, requestId);
    logger.error(`${name} failed`, { code: mapped.name, error: err as Error });
    throw mapped;
  }
}
