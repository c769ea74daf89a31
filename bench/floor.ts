// Compression-only floor: zstd level 1 of an image's non-zero blocks on all cores; run as a child to be timed.
import { stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { FloorWorkerData, FloorWorkerResult } from './floor-worker.ts';

export interface FloorResult {
  workers: number;
  blocks: number;
  bytesIn: number;
  bytesOut: number;
  /** Measured inside the process, from the first worker's start to the last one's result. */
  innerWallMs: number;
}

const SPAN = 8 * 1024 * 1024;

export async function runFloor(path: string, blockSize = 512 * 1024, workers = availableParallelism()): Promise<FloorResult> {
  const { size } = await stat(path);
  const started = performance.now();
  const parts = await Promise.all(
    Array.from({ length: workers }, (_, index) => new Promise<FloorWorkerResult>((resolve, reject) => {
      const data: FloorWorkerData = { path, size, blockSize, span: SPAN, index, workers };
      const w = new Worker(new URL('./floor-worker.ts', import.meta.url), { workerData: data });
      w.once('message', (r: FloorWorkerResult) => resolve(r));
      w.once('error', reject);
      w.once('exit', (code) => code !== 0 && reject(new Error(`floor worker ${index} exited with ${code}`)));
    })),
  );
  const innerWallMs = performance.now() - started;
  const sum = (k: keyof FloorWorkerResult) => parts.reduce((a, p) => a + p[k], 0);
  return { workers, blocks: sum('blocks'), bytesIn: sum('bytesIn'), bytesOut: sum('bytesOut'), innerWallMs };
}

// `node bench/floor.ts <image>`: prints the result as JSON (run.ts times this under /usr/bin/time).
if (import.meta.main) {
  const path = process.argv[2];
  if (!path) throw new Error('usage: node bench/floor.ts <image>');
  process.stdout.write(`${JSON.stringify(await runFloor(path))}\n`);
}
