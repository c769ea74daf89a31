// Worker-thread entry of the thread block processor: runs core's pure per-block operations.
import { workerData } from 'node:worker_threads';
import { processorOps, type ChunkToOpen, type ChunkToSeal, type ProcessorSetup } from '../core/engine/block-processor.ts';

const raw = workerData as ProcessorSetup;
const setup: ProcessorSetup = { ...raw, chunkIdKey: Buffer.from(raw.chunkIdKey), treeIdKey: Buffer.from(raw.treeIdKey) };
const asBuffer = (u: Uint8Array): Buffer => Buffer.from(u.buffer, u.byteOffset, u.byteLength);
const fixIds = <T extends { id: Uint8Array }>(list: T[]): T[] => list.map((c) => ({ ...c, id: asBuffer(c.id) }));

export function hash(task: { data: Uint8Array; blockSize: number }) {
  return processorOps.hash(setup, task.data, task.blockSize);
}

export function seal(task: { data: Uint8Array; chunks: ChunkToSeal[]; kind: number; key: Uint8Array }) {
  return processorOps.seal(setup, task.data, fixIds(task.chunks), task.kind, asBuffer(task.key));
}

export function open(task: { data: Uint8Array; chunks: ChunkToOpen[]; key: Uint8Array; keepData: boolean }) {
  return processorOps.open(setup, task.data, fixIds(task.chunks), asBuffer(task.key), task.keepData);
}
