// WorkerLauncher for the embedded default: "launching" a worker runs its backup task in this process.
import { InlineBlockProcessor, type BlockProcessor, type ProcessorSetup } from '../../core/engine/block-processor.ts';
import { InvalidArgumentError } from '../../core/errors.ts';
import type { WorkerLaunch, WorkerLauncher } from '../../core/orchestration/ports.ts';
import type { Repository } from '../../core/repo/repository.ts';
import { TaskSchema, type WorkerTask } from '../../worker-image/task.ts';
import { backupFromTask, type BackupTaskOutput } from '../../worker-image/task-backup.ts';
import type { LocalVolumeProvider } from './local-volume-provider.ts';

/** What the worker would send with SendTaskSuccess. */
export type LocalWorkerOutput = BackupTaskOutput;

export interface LocalWorkerLauncherOptions {
  /** The volumes and snapshots the tasks read. */
  source: LocalVolumeProvider;
  /** Opens the task's repository (e.g. file:///...); called once per task. */
  openRepository: (url: string) => Promise<Repository>;
  /** Default: an InlineBlockProcessor (the CLI can pass a ThreadBlockProcessor). */
  processor?: (setup: ProcessorSetup) => BlockProcessor;
}

interface Running {
  done: Promise<LocalWorkerOutput>;
  abort: AbortController;
}

export class LocalWorkerLauncher implements WorkerLauncher {
  private readonly options: LocalWorkerLauncherOptions;
  private readonly running = new Map<string, Running>();
  private next = 1;

  constructor(options: LocalWorkerLauncherOptions) {
    this.options = options;
  }

  /** Decodes the task document from the user data and starts its backup; the instance id names the run. */
  async launch(spec: WorkerLaunch): Promise<{ instanceId: string }> {
    const task = TaskSchema.parse(JSON.parse(Buffer.from(spec.userData, 'base64').toString('utf8')));
    const instanceId = `local-worker-${this.next++}`;
    const abort = new AbortController();
    const done = this.run(task, abort.signal);
    done.catch(() => undefined);
    this.running.set(instanceId, { done, abort });
    return { instanceId };
  }

  /** The task's output once its backup committed; rejects with the backup's error. */
  async wait(instanceId: string): Promise<LocalWorkerOutput> {
    const r = this.running.get(instanceId);
    if (!r) throw new InvalidArgumentError(`no local worker ${instanceId}`);
    try {
      return await r.done;
    } finally {
      this.running.delete(instanceId);
    }
  }

  async terminate(_region: string, instanceId: string): Promise<void> {
    this.running.get(instanceId)?.abort.abort(new Error(`worker ${instanceId} terminated`));
    this.running.delete(instanceId);
  }

  /** Backs up the task's snapshots, incremental from the base snapshots against the parent point. */
  async run(task: WorkerTask, signal?: AbortSignal): Promise<LocalWorkerOutput> {
    if (task.kind !== 'backup') throw new InvalidArgumentError(`local workers run backup tasks, not ${task.kind}`);
    const repo = await this.options.openRepository(task.repository);
    const setup: ProcessorSetup = { chunking: repo.params.chunking, compressionLevel: repo.params.compression.level, chunkIdKey: repo.master.chunkIdKey, treeIdKey: repo.master.treeIdKey };
    const processor = this.options.processor?.(setup) ?? new InlineBlockProcessor(setup);
    try {
      return await backupFromTask(task, { repo, source: this.options.source, processor, signal });
    } finally {
      await processor.close();
    }
  }
}
