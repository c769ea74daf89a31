// The benchmark's seeded volume: day-1 image with snapshot s1, tracked day-2 writes and snapshot s2.
import { join } from 'node:path';
import { generateImage, mutateImage } from '../providers/local/image-generator.ts';
import { LocalVolumeProvider } from '../providers/local/local-volume-provider.ts';
import { sha256File } from './measure.ts';

export const VOLUME = 'bench-vol';
export const SEED = 'cloudkeep-bench';
export const DAY2_SEED = 'cloudkeep-bench-day2';
export const BLOCK_FRACTION = 0.02;

export const say = (line: string) => process.stdout.write(`${line}\n`);

/** Runs fn, records its wall seconds under label in `into` and prints them. */
export async function seconds<T>(label: string, fn: () => Promise<T>, into: Record<string, number>): Promise<T> {
  const started = performance.now();
  const value = await fn();
  into[label] = Number(((performance.now() - started) / 1000).toFixed(2));
  say(`  ${label}: ${into[label]} s`);
  return value;
}

/** Day 1 image as volume bench-vol with snapshot s1; day 2 written through the provider (tracked) and snapshot s2. */
export async function prepare(work: string, size: number, setup: Record<string, number>) {
  const provider = new LocalVolumeProvider({ root: join(work, 'volumes') });
  await provider.createVolume(VOLUME, size);
  const gen = await seconds('generate image', () => generateImage(provider.volumePath(VOLUME), { size, seed: SEED }), setup);
  const s1 = await seconds('snapshot s1', () => provider.createSnapshot(VOLUME), setup);
  const changed = await seconds('day-2 writes', () => mutateImage(
    { size, write: (o, d) => provider.writeVolume(VOLUME, o, d), read: (o, l) => provider.readVolume(VOLUME, o, l) },
    { seed: DAY2_SEED, blockFraction: BLOCK_FRACTION },
  ), setup);
  const s2 = await seconds('snapshot s2', () => provider.createSnapshot(VOLUME), setup);
  if (s2.changedSinceParent === null || s2.changedSinceParent.length !== changed.length) {
    throw new Error(`snapshot s2 has no tracked change set matching the ${changed.length} rewritten blocks (got ${s2.changedSinceParent?.length ?? 'unknown'})`);
  }
  const s2Path = provider.snapshotPath(s2.snapshotId);
  const s2Sha = await seconds('sha256 of s2', () => sha256File(s2Path), setup);
  return { gen, changed, s1Id: s1.snapshotId, s2Id: s2.snapshotId, s1Path: provider.snapshotPath(s1.snapshotId), s2Path, s2Sha, volumesDir: provider.root };
}

export type Prepared = Awaited<ReturnType<typeof prepare>>;
