// A local worker process (forked by LocalWorkerLauncher): receives its task over IPC, opens the task's
// repository with the task's key spec, backs up local snapshots, reports progress and the result, exits.
import { openStore } from '../../cli/repo-url.ts';
import { systemClock } from '../../core/clock.ts';
import type { Progress } from '../../core/engine/progress.ts';
import { Repository } from '../../core/repo/repository.ts';
import type { WorkerTask } from '../../worker-image/task.ts';
import { ThreadBlockProcessor } from '../../worker-image/thread-block-processor.ts';
import { keyProviderFromSpec } from '../key-providers.ts';
import { LocalVolumeProvider } from './local-volume-provider.ts';
import { runLocalBackupTask, type LocalWorkerOutput } from './local-worker-launcher.ts';

export interface WorkerRequest {
  task: WorkerTask;
  volumes: { root: string; blockSize: number };
  /** Environment-style secrets for the key spec, e.g. CLOUDKEEP_PASSPHRASE. */
  secrets: Record<string, string>;
  threads?: number;
}

export type WorkerMessage =
  | { type: 'progress'; progress: Progress }
  | { type: 'done'; output: LocalWorkerOutput }
  | { type: 'failed'; error: { name: string; message: string } };

const PROGRESS_EVERY_MS = 250;

function send(message: WorkerMessage): Promise<void> {
  return new Promise((ok) => (process.send ? process.send(message, undefined, {}, () => ok()) : ok()));
}

async function work(request: WorkerRequest): Promise<WorkerMessage> {
  const { task } = request;
  let sentAt = 0;
  try {
    const output = await runLocalBackupTask(task, {
      source: new LocalVolumeProvider(request.volumes),
      openRepository: async (url) => Repository.open(await openStore(url), [keyProviderFromSpec(task.key, { ...process.env, ...request.secrets })], systemClock),
      processor: (setup) => new ThreadBlockProcessor(setup, request.threads),
      onProgress: (progress) => {
        const now = Date.now();
        if (now - sentAt < PROGRESS_EVERY_MS && progress.bytesDone < progress.bytesTotal) return;
        sentAt = now;
        void send({ type: 'progress', progress });
      },
    });
    return { type: 'done', output };
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    return { type: 'failed', error: { name: e.name, message: e.message } };
  }
}

if (process.send) {
  // Ctrl+C reaches the whole process group: the parent decides (it waits for running work, or terminates it with SIGTERM).
  process.on('SIGINT', () => undefined);
  // Without its parent nobody takes the result: stop.
  process.once('disconnect', () => process.exit(1));
  process.once('message', (request: WorkerRequest) => {
    void work(request).then(async (message) => {
      await send(message);
      process.exit(message.type === 'done' ? 0 : 1);
    });
  });
}
