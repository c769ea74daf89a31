// Worker of the compression floor: zstd level 1 of its share of the image's non-zero 512 KiB blocks.
import { open } from 'node:fs/promises';
import { constants, zstdCompressSync } from 'node:zlib';
import { parentPort, workerData } from 'node:worker_threads';
import { isAllZero, readFully } from '../providers/local/image-files.ts';

export interface FloorWorkerData {
  path: string;
  size: number;
  blockSize: number;
  /** Bytes read per request; this worker takes every `workers`-th span starting at span `index`. */
  span: number;
  index: number;
  workers: number;
}

export interface FloorWorkerResult {
  blocks: number;
  bytesIn: number;
  bytesOut: number;
}

const { path, size, blockSize, span, index, workers } = workerData as FloorWorkerData;
const params = { [constants.ZSTD_c_compressionLevel]: 1 };
const buffer = Buffer.allocUnsafe(span);
const result: FloorWorkerResult = { blocks: 0, bytesIn: 0, bytesOut: 0 };
const handle = await open(path, 'r');
try {
  for (let position = index * span; position < size; position += workers * span) {
    const length = await readFully(handle, buffer.subarray(0, Math.min(span, size - position)), position);
    for (let at = 0; at < length; at += blockSize) {
      const block = buffer.subarray(at, Math.min(at + blockSize, length));
      if (isAllZero(block)) continue;
      result.blocks++;
      result.bytesIn += block.length;
      result.bytesOut += zstdCompressSync(block, { params }).length;
    }
  }
} finally {
  await handle.close();
}
parentPort!.postMessage(result);
