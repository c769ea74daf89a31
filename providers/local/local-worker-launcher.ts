// WorkerLauncher for the embedded default: each worker is a child process (local-worker-process) that
// backs up its task document and reports progress and its output over IPC. An in-process mode runs
// the same backup in this process (unit tests that hand in a repository).
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { InlineBlockProcessor, type BlockProcessor, type ProcessorSetup } from '../../core/engine/block-processor.ts';
import type { Progress, ProgressListener } from '../../core/engine/progress.ts';
import { InvalidArgumentError } from '../../core/errors.ts';
import type { WorkerLaunch, WorkerLauncher } from '../../core/orchestration/ports.ts';
import type { Repository } from '../../core/repo/repository.ts';
import { TaskSchema, type WorkerTask } from '../../worker-image/task.ts';
import { backupFromTask, type BackupTaskOutput } from '../../worker-image/task-backup.ts';
import { LocalVolumeProvider } from './local-volume-provider.ts';
import type { WorkerMessage, WorkerRequest } from './local-worker-process.ts';

/** What the worker would send with SendTaskSuccess. */
export type LocalWorkerOutput = BackupTaskOutput;

export interface BackupTaskDeps {
  source: LocalVolumeProvider;
  openRepository: (url: string) => Promise<Repository>;
  /** Default: an InlineBlockProcessor. */
  processor?: (setup: ProcessorSetup) => BlockProcessor;
  signal?: AbortSignal;
  onProgress?: ProgressListener;
}

/** Backs up the task's snapshots, incremental from the base snapshots against the parent point (child and in-process workers). */
export async function runLocalBackupTask(task: WorkerTask, deps: BackupTaskDeps): Promise<LocalWorkerOutput> {
  if (task.kind !== 'backup') throw new InvalidArgumentError(`local workers run backup tasks, not ${task.kind}`);
  const repo = await deps.openRepository(task.repository);
  const setup: ProcessorSetup = { chunking: repo.params.chunking, compressionLevel: repo.params.compression.level, chunkIdKey: repo.master.chunkIdKey, treeIdKey: repo.master.treeIdKey };
  const processor = deps.processor?.(setup) ?? new InlineBlockProcessor(setup);
  try {
    return await backupFromTask(task, { repo, source: deps.source, processor, signal: deps.signal, onProgress: deps.onProgress });
  } finally {
    await processor.close();
  }
}

export interface LocalWorkerLauncherOptions {
  /** The volumes and snapshots the tasks read. */
  source: LocalVolumeProvider;
  /** Child processes: secrets the task's key spec needs (CLOUDKEEP_PASSPHRASE for "passphrase"), sent over IPC, never in argv or env. */
  secrets?: () => Promise<Record<string, string>>;
  /** Child processes: block-processor threads of each worker (default: every core). */
  threads?: number;
  /** Run workers in this process with these repositories instead of child processes (unit tests). */
  inProcess?: Pick<BackupTaskDeps, 'openRepository' | 'processor'>;
}

/** The latest progress of a worker, and who wants it (set by wait). */
interface ProgressRelay {
  last?: Progress;
  listener?: ProgressListener;
}

interface Running {
  done: Promise<LocalWorkerOutput>;
  stop: (reason: Error) => Promise<void>;
  relay: ProgressRelay;
  pid?: number;
}

function relayTo(relay: ProgressRelay): ProgressListener {
  return (p) => {
    relay.last = p;
    relay.listener?.(p);
  };
}

const KILL_AFTER_MS = 5000;

export class LocalWorkerLauncher implements WorkerLauncher {
  private readonly options: LocalWorkerLauncherOptions;
  private readonly running = new Map<string, Running>();
  private next = 1;

  constructor(options: LocalWorkerLauncherOptions) {
    this.options = options;
  }

  /** Decodes the task document from the user data and starts its worker; the instance id names it. */
  async launch(spec: WorkerLaunch): Promise<{ instanceId: string }> {
    const task = TaskSchema.parse(JSON.parse(Buffer.from(spec.userData, 'base64').toString('utf8')));
    const instanceId = `local-worker-${process.pid}-${this.next++}`;
    const entry = this.options.inProcess ? this.startInProcess(task) : await this.startChild(task, instanceId);
    entry.done.catch(() => undefined);
    this.running.set(instanceId, entry);
    return { instanceId };
  }

  /** The task's output once its backup committed; rejects with the backup's error. Progress goes to `onProgress`. */
  async wait(instanceId: string, onProgress?: ProgressListener): Promise<LocalWorkerOutput> {
    const r = this.running.get(instanceId);
    if (!r) throw new InvalidArgumentError(`no local worker ${instanceId}`);
    r.relay.listener = onProgress;
    if (r.relay.last) onProgress?.(r.relay.last);
    try {
      return await r.done;
    } finally {
      this.running.delete(instanceId);
    }
  }

  /** The worker's process id (child processes), while it runs. */
  pidOf(instanceId: string): number | undefined {
    return this.running.get(instanceId)?.pid;
  }

  /** Stops the worker: kills its process (SIGTERM, SIGKILL after 5 s) and resolves once it exited. */
  async terminate(_region: string, instanceId: string): Promise<void> {
    const r = this.running.get(instanceId);
    this.running.delete(instanceId);
    await r?.stop(new Error(`worker ${instanceId} terminated`));
  }

  private startInProcess(task: WorkerTask): Running {
    const abort = new AbortController();
    const relay: ProgressRelay = {};
    const { openRepository, processor } = this.options.inProcess!;
    const done = runLocalBackupTask(task, { source: this.options.source, openRepository, processor, signal: abort.signal, onProgress: relayTo(relay) });
    return { done, relay, stop: async (reason) => abort.abort(reason) };
  }

  private async startChild(task: WorkerTask, instanceId: string): Promise<Running> {
    const request: WorkerRequest = {
      task,
      volumes: { root: this.options.source.root, blockSize: this.options.source.blockSize },
      secrets: (await this.options.secrets?.()) ?? {},
      threads: this.options.threads,
    };
    // The same extension as this module: .ts from the sources, .js from dist/.
    const entryFile = fileURLToPath(new URL(`./local-worker-process${import.meta.url.slice(import.meta.url.lastIndexOf('.'))}`, import.meta.url));
    const child = fork(entryFile, [], { execPath: process.execPath, execArgv: [], stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    const exited = new Promise<void>((ok) => child.once('exit', () => ok()));
    const relay: ProgressRelay = {};
    const done = childResult(child, instanceId, relayTo(relay));
    child.send(request);
    return { done, relay, pid: child.pid, stop: () => kill(child, exited) };
  }
}

/** Settles with the child's reported output or error, or rejects when it exits without one. */
function childResult(child: ChildProcess, instanceId: string, onProgress: ProgressListener): Promise<LocalWorkerOutput> {
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString('utf8')).slice(-2000)));
  return new Promise<LocalWorkerOutput>((ok, fail) => {
    let result: WorkerMessage | undefined;
    child.on('message', (m: WorkerMessage) => {
      if (m.type === 'progress') onProgress(m.progress);
      else result = m;
    });
    child.once('error', fail);
    child.once('exit', (code, signal) => {
      if (result?.type === 'done') return ok(result.output);
      if (result?.type === 'failed') return fail(Object.assign(new Error(result.error.message), { name: result.error.name }));
      const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
      fail(new Error(`local worker ${instanceId} ${how} before reporting a result${stderr.trim() ? `: ${stderr.trim()}` : ''}`));
    });
  });
}

async function kill(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const forced = new Promise<void>((ok) => (timer = setTimeout(() => ok(void child.kill('SIGKILL')), KILL_AFTER_MS)));
  await Promise.race([exited, forced]);
  clearTimeout(timer);
  await exited;
}
