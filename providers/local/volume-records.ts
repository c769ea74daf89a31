// The JSON sidecars of LocalVolumeProvider: what a volume and a snapshot remember about themselves.
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
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
  /** Blocks with any non-zero byte, noted while copying; absent when the copy was a reflink. */
  allocatedBlocks?: number[];
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

/** Where a provider root keeps images and sidecars: volumes/<id>.img|json, snapshots/<id>.img|json. */
export class RecordStore {
  readonly root: string;

  constructor(root: string) {
    this.root = root;
  }

  volumePath(volumeId: string): string {
    assertValidId('volume', volumeId);
    return join(this.root, 'volumes', `${volumeId}.img`);
  }

  snapshotPath(snapshotId: string): string {
    assertValidId('snapshot', snapshotId);
    return join(this.root, 'snapshots', `${snapshotId}.img`);
  }

  async ensureDirectories(): Promise<void> {
    await mkdir(join(this.root, 'volumes'), { recursive: true });
    await mkdir(join(this.root, 'snapshots'), { recursive: true });
  }

  async loadVolume(volumeId: string): Promise<VolumeRecord> {
    const record = await this.findVolume(volumeId);
    if (!record) throw new InvalidArgumentError(`unknown volume ${JSON.stringify(volumeId)}: expected one created or imported under ${this.root}`);
    return record;
  }

  findVolume(volumeId: string): Promise<VolumeRecord | undefined> {
    assertValidId('volume', volumeId);
    return readRecord<VolumeRecord>(join(this.root, 'volumes', `${volumeId}.json`), 'volume');
  }

  /** Loads a snapshot, checking it belongs to volumeId when one is given. */
  async loadSnapshot(snapshotId: string, volumeId?: string): Promise<SnapshotRecord> {
    const record = await this.findSnapshot(snapshotId);
    if (!record) throw new InvalidArgumentError(`unknown snapshot ${JSON.stringify(snapshotId)}: expected one taken under ${this.root}`);
    if (volumeId !== undefined && record.volumeId !== volumeId) {
      throw new InvalidArgumentError(`snapshot ${snapshotId} of volume ${JSON.stringify(volumeId)}: it belongs to volume ${JSON.stringify(record.volumeId)}`);
    }
    return record;
  }

  findSnapshot(snapshotId: string): Promise<SnapshotRecord | undefined> {
    assertValidId('snapshot', snapshotId);
    return readRecord<SnapshotRecord>(join(this.root, 'snapshots', `${snapshotId}.json`), 'snapshot');
  }

  /** A volume's snapshots, oldest first. */
  async snapshotsOf(volumeId: string): Promise<SnapshotRecord[]> {
    const names = await readdir(join(this.root, 'snapshots')).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return [] as string[];
      throw err;
    });
    const records: SnapshotRecord[] = [];
    for (const name of names) {
      if (!name.endsWith('.json')) continue;
      const record = await readRecord<SnapshotRecord>(join(this.root, 'snapshots', name), 'snapshot');
      if (record?.volumeId === volumeId) records.push(record);
    }
    return records.sort((a, b) => a.sequence - b.sequence);
  }

  saveVolume(record: VolumeRecord): Promise<void> {
    return writeRecord(join(this.root, 'volumes', `${record.volumeId}.json`), record);
  }

  saveSnapshot(record: SnapshotRecord): Promise<void> {
    return writeRecord(join(this.root, 'snapshots', `${record.snapshotId}.json`), record);
  }

  /** Sidecar first: a crash then leaves an unlisted image, never a listed snapshot without data. */
  async removeSnapshot(snapshotId: string): Promise<void> {
    assertValidId('snapshot', snapshotId);
    await rm(join(this.root, 'snapshots', `${snapshotId}.json`));
    await rm(this.snapshotPath(snapshotId), { force: true });
  }
}

/** Runs work one at a time per key, in call order. */
export class KeyedLock {
  private readonly tails = new Map<string, Promise<void>>();

  async run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const mine = previous.then(() => gate);
    this.tails.set(key, mine);
    await previous;
    try {
      return await work();
    } finally {
      release();
      if (this.tails.get(key) === mine) this.tails.delete(key);
    }
  }
}

/** Reads a sidecar; undefined when it does not exist. */
async function readRecord<T extends VolumeRecord | SnapshotRecord>(path: string, kind: 'volume' | 'snapshot'): Promise<T | undefined> {
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
async function writeRecord(path: string, record: VolumeRecord | SnapshotRecord): Promise<void> {
  const temporary = `${path}.tmp-${randomBytes(4).toString('hex')}`;
  try {
    await writeFile(temporary, JSON.stringify(record));
    await rename(temporary, path);
  } catch (err) {
    await rm(temporary, { force: true });
    throw err;
  }
}
