// The JSON sidecars of LocalVolumeProvider: what a volume and a snapshot remember about themselves.
import { randomBytes } from 'node:crypto';
import { readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { CloudkeepError, InvalidArgumentError } from '../../core/errors.ts';

/**
 * Identifies one state of an image file. ctime is in it because utimes cannot set it back, so an
 * outside writer cannot hide a change by restoring mtime.
 */
export interface FileStamp {
  size: number;
  ino: string;
  mtimeNs: string;
  ctimeNs: string;
}

export interface VolumeRecord {
  format: 1;
  volumeId: string;
  size: number;
  blockSize: number;
  createdAt: number;
  /** The latest snapshot: the next snapshot's parent. */
  headSnapshotId: string | null;
  nextSequence: number;
  /** Blocks written since the head snapshot (sorted), or null when that is unknown. */
  dirtyBlocks: number[] | null;
  /** The image file as the last tracked change left it; any other stamp means an outside write. */
  stamp: FileStamp;
}

export interface SnapshotRecord {
  format: 1;
  snapshotId: string;
  volumeId: string;
  size: number;
  blockSize: number;
  createdAt: number;
  /** Orders a volume's snapshots even when the clock gives two the same createdAt. */
  sequence: number;
  parentSnapshotId: string | null;
  /** Blocks that may differ from the parent (sorted), or null when unknown. */
  changedSinceParent: number[] | null;
}

const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Ids become file names, so only safe characters (no separators, no leading dot). */
export function assertValidId(kind: 'volume' | 'snapshot', id: string): void {
  if (typeof id !== 'string' || !ID_PATTERN.test(id)) {
    throw new InvalidArgumentError(`${kind} id ${JSON.stringify(id)}: expected 1 to 128 characters of [A-Za-z0-9._-] starting with a letter or digit`);
  }
}

export async function stampOf(path: string): Promise<FileStamp> {
  const s = await stat(path, { bigint: true });
  return { size: Number(s.size), ino: s.ino.toString(), mtimeNs: s.mtimeNs.toString(), ctimeNs: s.ctimeNs.toString() };
}

export function sameStamp(a: FileStamp, b: FileStamp): boolean {
  return a.size === b.size && a.ino === b.ino && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs;
}

/** Union of two change sets; unknown (null) wins, since a union with an unknown set is unknown. */
export function mergeChanges(a: number[] | null, b: number[] | null): number[] | null {
  if (a === null || b === null) return null;
  return sortedUnique([...a, ...b]);
}

export function sortedUnique(values: Iterable<number>): number[] {
  return [...new Set(values)].sort((x, y) => x - y);
}

/** Reads a sidecar; undefined when it does not exist. */
export async function readRecord<T extends VolumeRecord | SnapshotRecord>(path: string, kind: 'volume' | 'snapshot'): Promise<T | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new CloudkeepError(`${kind} sidecar ${path} is not valid JSON: expected a file written by LocalVolumeProvider`, { cause: err });
  }
  const record = value as Partial<VolumeRecord & SnapshotRecord>;
  const idField = kind === 'volume' ? record.volumeId : record.snapshotId;
  if (record.format !== 1 || typeof idField !== 'string' || !Number.isSafeInteger(record.size) || !Number.isSafeInteger(record.blockSize)) {
    throw new CloudkeepError(`${kind} sidecar ${path} has format ${JSON.stringify(record.format)} or missing fields: expected format 1 with id, size and blockSize`);
  }
  return value as T;
}

/** Replaces a sidecar atomically (write a temporary file, then rename over), so readers never see half. */
export async function writeRecord(path: string, record: VolumeRecord | SnapshotRecord): Promise<void> {
  const temporary = `${path}.tmp-${randomBytes(4).toString('hex')}`;
  try {
    await writeFile(temporary, JSON.stringify(record));
    await rename(temporary, path);
  } catch (err) {
    await rm(temporary, { force: true });
    throw err;
  }
}
