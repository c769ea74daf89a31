// The EC2 worker program: reads its task, backs up or restores, reports to Step Functions with the task token, shuts down.
//
// Usage: node worker-main.js [--task <file>] [--shutdown] | --self-test
//   The task comes from CLOUDKEEP_TASK (JSON) or a file (--task, CLOUDKEEP_TASK_FILE, /etc/cloudkeep/task.json).
//   CLOUDKEEP_HEARTBEAT_SECONDS (default 60): SendTaskHeartbeat interval while working.
//   CLOUDKEEP_SFN_REGION: the state machine's region when it differs from the task's region.
//   --shutdown (or CLOUDKEEP_SHUTDOWN=1): `shutdown -h now` at the end; the launch template makes that a termination.
// Exit codes: see EXIT. Logs: one JSON object a line (Powertools), keyed by account, resource and task (a hash of the token).
import { execFile } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { Logger } from '@aws-lambda-powertools/logger';
import { SFNClient } from '@aws-sdk/client-sfn';
import type { EBSClient } from '@aws-sdk/client-ebs';
import type { EC2Client } from '@aws-sdk/client-ec2';
import type { KMSClient } from '@aws-sdk/client-kms';
import type { ScryptParams } from '../core/crypto/passphrase-key-provider.ts';
import type { BlockProcessor, ProcessorSetup } from '../core/engine/block-processor.ts';
import type { Progress } from '../core/engine/progress.ts';
import { InvalidTaskError, loadTask, taskIdOf, type WorkerTask } from './task.ts';
import { isTaskGone, redact, TaskAbandonedError, TaskReporter, truncate, SFN_CAUSE_MAX } from './task-reporter.ts';
import { runTask, type TaskOutput } from './task-run.ts';

type Env = Readonly<Record<string, string | undefined>>;

/** The process exit codes. */
export const EXIT = {
  ok: 0,
  /** The task failed; SendTaskFailure was sent. */
  failed: 1,
  /** The task document could not be read or is invalid. */
  invalidTask: 2,
  /** Step Functions gave up on the task (TaskTimedOut, …): the work was stopped, nothing reported. */
  abandoned: 3,
  /** The result could not be reported to Step Functions. */
  reportFailed: 4,
} as const;

export interface WorkerLogger {
  info(message: string, extra?: Record<string, unknown>): void;
  warn(message: string, extra?: Record<string, unknown>): void;
  error(message: string, extra?: Record<string, unknown>): void;
  appendKeys(keys: Record<string, unknown>): void;
}

export interface WorkerOptions {
  /** An already-parsed task; otherwise it is loaded from `taskFile` / the environment. */
  task?: WorkerTask;
  taskFile?: string;
  env?: Env;
  sfn?: SFNClient;
  ebs?: EBSClient;
  ec2?: EC2Client;
  kms?: KMSClient;
  /** Heartbeat interval; default CLOUDKEEP_HEARTBEAT_SECONDS or 60 s. */
  heartbeatMs?: number;
  /** Log progress at most this often (default 60 s). */
  progressLogMs?: number;
  threads?: number;
  processor?: (setup: ProcessorSetup) => BlockProcessor;
  scrypt?: ScryptParams;
  logger?: WorkerLogger;
  /** Called last, whatever happened (production: `shutdown -h now`). */
  shutdown?: () => Promise<void>;
}

export interface WorkerResult {
  exitCode: number;
  output?: TaskOutput;
  /** What SendTaskFailure carried (or would have). */
  failure?: { error: string; cause: string };
}

export function newLogger(env: Env = process.env): WorkerLogger {
  const logger = new Logger({ serviceName: 'cloudkeep-worker', logLevel: (env.POWERTOOLS_LOG_LEVEL ?? 'INFO') as 'INFO' });
  return {
    info: (m, extra) => (extra ? logger.info(m, extra) : logger.info(m)),
    warn: (m, extra) => (extra ? logger.warn(m, extra) : logger.warn(m)),
    error: (m, extra) => (extra ? logger.error(m, extra) : logger.error(m)),
    appendKeys: (keys) => logger.appendKeys(keys),
  };
}

/** Halts the instance; with instance-initiated shutdown behavior = terminate, EC2 then terminates it. */
export async function systemShutdown(): Promise<void> {
  await promisify(execFile)('shutdown', ['-h', 'now']);
}

/** Error name and a user-facing cause, with every known secret removed and within Step Functions' limits. */
export function describeFailure(err: unknown, secrets: ReadonlyArray<string | undefined>): { error: string; cause: string } {
  const e = err instanceof Error ? err : new Error(String(err));
  const name = /^[A-Za-z0-9_.]+$/.test(e.name) ? e.name : 'Error';
  let cause = e.message || name;
  const inner = e.cause instanceof Error ? e.cause.message : undefined;
  if (inner && !cause.includes(inner)) cause += ` (caused by: ${inner})`;
  return { error: name, cause: truncate(redact(cause, secrets), SFN_CAUSE_MAX) };
}

function heartbeatMsFrom(options: WorkerOptions, env: Env): number {
  if (options.heartbeatMs !== undefined) return options.heartbeatMs;
  const s = Number(env.CLOUDKEEP_HEARTBEAT_SECONDS ?? 60);
  return (Number.isFinite(s) && s > 0 ? s : 60) * 1000;
}

/** Runs one task end to end; never throws. */
export async function runWorker(options: WorkerOptions = {}): Promise<WorkerResult> {
  const env = options.env ?? process.env;
  const log = options.logger ?? newLogger(env);
  const secrets = [env.CLOUDKEEP_PASSPHRASE, env.AWS_SECRET_ACCESS_KEY, env.AWS_SESSION_TOKEN];
  try {
    return await work(options, env, log, secrets);
  } finally {
    if (options.shutdown) {
      log.info('shutting down the instance');
      await options.shutdown().catch((err: unknown) => log.error('shutdown failed', { reason: (err as Error).message }));
    }
  }
}

async function work(options: WorkerOptions, env: Env, log: WorkerLogger, secrets: Array<string | undefined>): Promise<WorkerResult> {
  let task: WorkerTask;
  try {
    task = options.task ?? (await loadTask({ file: options.taskFile, env }));
  } catch (err) {
    const failure = describeFailure(err, [...secrets, (err as InvalidTaskError).taskToken]);
    log.error('cannot start: bad task document', failure);
    const token = (err as InvalidTaskError).taskToken;
    if (token) {
      const sfn = options.sfn ?? new SFNClient({ region: env.CLOUDKEEP_SFN_REGION ?? env.AWS_REGION });
      await new TaskReporter(sfn, token, log).failure('InvalidTask', failure.cause).catch((e: unknown) => log.error('cannot report the failure', { error: (e as Error).name }));
    }
    return { exitCode: EXIT.invalidTask, failure };
  }
  secrets.push(task.taskToken);
  log.appendKeys({ account: task.account, resource: task.resource.id, task: taskIdOf(task.taskToken), taskKind: task.kind });
  const sfn = options.sfn ?? new SFNClient({ region: env.CLOUDKEEP_SFN_REGION ?? task.region });
  const reporter = new TaskReporter(sfn, task.taskToken, log);
  const controller = new AbortController();
  let abandoned: TaskAbandonedError | null = null;
  const heartbeatMs = heartbeatMsFrom(options, env);
  log.info('task started', { region: task.region, disks: task.disks.length, parentPointId: task.parentPointId, heartbeatSeconds: heartbeatMs / 1000 });
  let lastProgress = 0;
  const progressLogMs = options.progressLogMs ?? 60_000;
  const onProgress = (p: Progress) => {
    const now = Date.now();
    if (now - lastProgress < progressLogMs) return;
    lastProgress = now;
    log.info('progress', { ...p });
  };
  try {
    await reporter.startHeartbeats(heartbeatMs, (err) => {
      abandoned = err;
      log.error('Step Functions gave up on the task: stopping', { code: err.code });
      controller.abort(err);
    });
    const output = await runTask(task, {
      env, ebs: options.ebs, ec2: options.ec2, kms: options.kms, threads: options.threads, processor: options.processor, scrypt: options.scrypt,
      signal: controller.signal, onProgress, note: (m, extra) => log.info(m, extra),
    });
    if (abandoned) return { exitCode: EXIT.abandoned, output };
    output.stats = { ...output.stats, heartbeats: reporter.heartbeats } as TaskOutput['stats'];
    log.info('task succeeded', { pointId: output.pointId, ...(output.kind === 'restore' ? { snapshotIds: output.snapshots.map((s) => s.snapshotId) } : {}), bytesRead: output.stats.bytesRead, durationMs: output.stats.durationMs, bottleneck: output.stats.bottleneck });
    try {
      await reporter.success(output);
      return { exitCode: EXIT.ok, output };
    } catch (err) {
      log.error('cannot report the success', { error: (err as Error).name, reason: redact((err as Error).message, secrets) });
      return { exitCode: isTaskGone(err) ? EXIT.abandoned : EXIT.reportFailed, output };
    }
  } catch (err) {
    if (abandoned) return { exitCode: EXIT.abandoned, failure: describeFailure(abandoned, secrets) };
    const failure = describeFailure(err, secrets);
    log.error('task failed', failure);
    try {
      await reporter.failure(failure.error, failure.cause);
      return { exitCode: EXIT.failed, failure };
    } catch (e) {
      log.error('cannot report the failure', { error: (e as Error).name, reason: redact((e as Error).message, secrets) });
      return { exitCode: isTaskGone(e) ? EXIT.abandoned : EXIT.reportFailed, failure };
    }
  } finally {
    reporter.stopHeartbeats();
  }
}

/** The command line; returns the exit code. */
export async function main(argv: string[], env: Env = process.env): Promise<number> {
  if (argv.includes('--self-test')) {
    const { selfTest } = await import('./self-test.ts');
    const r = await selfTest();
    process.stdout.write(`${JSON.stringify(r)}\n`);
    return r.ok ? 0 : 1;
  }
  const at = argv.indexOf('--task');
  const taskFile = at >= 0 ? argv[at + 1] : undefined;
  const shutdown = argv.includes('--shutdown') || env.CLOUDKEEP_SHUTDOWN === '1' ? systemShutdown : undefined;
  return (await runWorker({ taskFile, env, shutdown })).exitCode;
}

function isMain(): boolean {
  try {
    return !!process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href;
  } catch {
    return false;
  }
}

if (isMain()) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`worker crashed: ${(err as Error).message}\n`);
      process.exit(70);
    },
  );
}
