// Reports a worker's task to Step Functions with its token: heartbeats while working, then success or failure.
import { SendTaskFailureCommand, SendTaskHeartbeatCommand, SendTaskSuccessCommand, type SFNClient } from '@aws-sdk/client-sfn';

/** Step Functions limits of SendTaskFailure and SendTaskSuccess. */
export const SFN_ERROR_MAX = 256;
export const SFN_CAUSE_MAX = 32_768;
export const SFN_OUTPUT_MAX = 256 * 1024;

/** Errors meaning the state machine no longer waits for this task: the work is pointless. */
const TASK_GONE = new Set(['TaskTimedOut', 'TaskDoesNotExist', 'InvalidToken']);

export function isTaskGone(err: unknown): boolean {
  return typeof err === 'object' && err !== null && TASK_GONE.has((err as { name?: string }).name ?? '');
}

/** The state machine gave up on the task (it timed out, or the token is no longer valid). */
export class TaskAbandonedError extends Error {
  readonly code: string;
  constructor(code: string) {
    super(`Step Functions no longer waits for this task (${code}): the work was stopped`);
    this.name = 'TaskAbandonedError';
    this.code = code;
  }
}

/** Cuts `text` to at most `max` characters, marking the cut. */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  const mark = '… (truncated)';
  return text.slice(0, max - mark.length) + mark;
}

/** Replaces every occurrence of each secret (at least 4 characters long) by "[redacted]". */
export function redact(text: string, secrets: ReadonlyArray<string | undefined>): string {
  let out = text;
  for (const s of secrets) if (s && s.length >= 4) out = out.split(s).join('[redacted]');
  return out;
}

export interface ReporterLog {
  info(message: string, extra?: Record<string, unknown>): void;
  warn(message: string, extra?: Record<string, unknown>): void;
}

export class TaskReporter {
  readonly #sfn: SFNClient;
  readonly #token: string;
  readonly #log: ReporterLog;
  #timer: NodeJS.Timeout | null = null;
  #beating: Promise<void> | null = null;
  /** Heartbeats Step Functions accepted. */
  heartbeats = 0;

  constructor(sfn: SFNClient, taskToken: string, log: ReporterLog) {
    this.#sfn = sfn;
    this.#token = taskToken;
    this.#log = log;
  }

  /** One heartbeat; throws TaskAbandonedError when the state machine gave up, logs and swallows other errors. */
  async heartbeat(): Promise<void> {
    try {
      await this.#sfn.send(new SendTaskHeartbeatCommand({ taskToken: this.#token }));
      this.heartbeats++;
    } catch (err) {
      if (isTaskGone(err)) throw new TaskAbandonedError((err as Error).name);
      this.#log.warn('heartbeat failed; retrying at the next beat', { error: (err as Error).name, reason: (err as Error).message });
    }
  }

  /** Sends a heartbeat now and every `intervalMs`; calls `onAbandoned` (once) if the state machine gave up. */
  async startHeartbeats(intervalMs: number, onAbandoned: (err: TaskAbandonedError) => void): Promise<void> {
    let gone = false;
    const beat = async () => {
      if (gone || this.#beating) return;
      this.#beating = this.heartbeat()
        .catch((err: unknown) => {
          gone = true;
          this.stopHeartbeats();
          onAbandoned(err as TaskAbandonedError);
        })
        .finally(() => {
          this.#beating = null;
        });
      await this.#beating;
    };
    this.#timer = setInterval(() => void beat(), intervalMs);
    this.#timer.unref();
    await beat();
  }

  stopHeartbeats(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  /** Stops the heartbeats and waits for one in flight, so no heartbeat follows the result. */
  async settle(): Promise<void> {
    this.stopHeartbeats();
    await this.#beating;
  }

  async success(output: unknown): Promise<void> {
    await this.settle();
    const json = JSON.stringify(output);
    if (json.length > SFN_OUTPUT_MAX) throw new Error(`task output of ${json.length} characters exceeds the Step Functions limit of ${SFN_OUTPUT_MAX}`);
    await this.#sfn.send(new SendTaskSuccessCommand({ taskToken: this.#token, output: json }));
    this.#log.info('reported task success');
  }

  async failure(error: string, cause: string): Promise<void> {
    await this.settle();
    await this.#sfn.send(new SendTaskFailureCommand({ taskToken: this.#token, error: truncate(error, SFN_ERROR_MAX), cause: truncate(cause, SFN_CAUSE_MAX) }));
    this.#log.info('reported task failure', { error: truncate(error, SFN_ERROR_MAX) });
  }
}
