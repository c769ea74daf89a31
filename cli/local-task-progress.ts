// A local worker's task record while it backs up: progress at most every 500 ms, then sizes and bottleneck.
import { asAccountId, asResourceId, asSessionId } from '../core/control/control-ids.ts';
import type { ControlStore, TaskPatch } from '../core/control/control-store.ts';
import type { ProgressListener } from '../core/engine/progress.ts';
import type { BackupStats } from '../core/repo/manifest.ts';

export interface TaskProgressRecorder {
  /** Takes the worker's progress events; writes the task's progress, throttled. */
  listener: ProgressListener;
  /** Resolves once every progress write settled. */
  settled(): Promise<void>;
  /** Writes the final progress, the sizes (source, read, stored) and the bottleneck. */
  finish(stats: BackupStats): Promise<void>;
}

export function taskProgressRecorder(store: ControlStore, account: string, sessionId: string, resourceId: string, everyMs = 500): TaskProgressRecorder {
  const update = (patch: TaskPatch) => store.updateTask(asAccountId(account), asSessionId(sessionId), asResourceId(resourceId), patch);
  let writtenAt = 0;
  let chain: Promise<unknown> = Promise.resolve();
  const settled = async () => void (await chain);
  return {
    listener: (p) => {
      const now = Date.now();
      if (now - writtenAt < everyMs) return;
      writtenAt = now;
      // A lost progress write is harmless: the next one or the final sizes follow.
      chain = chain.then(() => update({ progress: { bytesDone: p.bytesDone, bytesTotal: p.bytesTotal } })).catch(() => undefined);
    },
    settled,
    finish: async (stats) => {
      await settled();
      await update({
        progress: { bytesDone: stats.bytesTotal, bytesTotal: stats.bytesTotal },
        sizes: { sourceBytes: stats.bytesTotal, readBytes: stats.bytesRead, storedBytes: stats.bytesStored },
        bottleneck: stats.bottleneck,
      });
    },
  };
}
