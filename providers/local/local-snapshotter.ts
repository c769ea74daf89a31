// Snapshotter for the embedded default: local snapshots (point-in-time copies) with tags kept in a sidecar file.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidArgumentError } from '../../core/errors.ts';
import type { SnapshotInfo, Snapshotter, SnapshotTarget } from '../../core/orchestration/ports.ts';
import type { LocalVolumeProvider } from './local-volume-provider.ts';

const GiB = 1024 ** 3;
type TagFile = Record<string, Record<string, string>>;

/** Local snapshots complete at once (the copy is made by create), so the state machine's wait loop ends on its first check. */
export class LocalSnapshotter implements Snapshotter {
  private readonly provider: LocalVolumeProvider;
  private readonly tagPath: string;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(provider: LocalVolumeProvider) {
    this.provider = provider;
    this.tagPath = join(provider.root, 'snapshot-tags.json');
  }

  async create(target: SnapshotTarget, tags: Record<string, string>): Promise<SnapshotInfo[]> {
    const volumeId = volumeOf(target);
    const snap = await this.provider.createSnapshot(volumeId);
    await this.updateTags((all) => void (all[snap.snapshotId] = { ...tags }));
    return [{ id: snap.snapshotId, volumeId, sizeGiB: Math.max(1, Math.ceil(snap.size / GiB)), status: 'completed', startTime: snap.createdAt, tags: { ...tags } }];
  }

  async describe(target: SnapshotTarget, ids: readonly string[]): Promise<SnapshotInfo[]> {
    const wanted = new Set(ids);
    return (await this.all(target)).filter((s) => wanted.has(s.id));
  }

  async list(target: SnapshotTarget, tags: Record<string, string>): Promise<SnapshotInfo[]> {
    return (await this.all(target)).filter((s) => Object.entries(tags).every(([k, v]) => s.tags[k] === v));
  }

  async delete(target: SnapshotTarget, id: string): Promise<void> {
    const volumeId = volumeOf(target);
    if (!(await this.provider.listSnapshots(volumeId)).some((s) => s.snapshotId === id)) return;
    await this.provider.deleteSnapshot(id);
    await this.updateTags((all) => void delete all[id]);
  }

  private async all(target: SnapshotTarget): Promise<SnapshotInfo[]> {
    const volumeId = volumeOf(target);
    const tags = await this.readTags();
    return (await this.provider.listSnapshots(volumeId)).map((s) => ({
      id: s.snapshotId, volumeId, sizeGiB: Math.max(1, Math.ceil(s.size / GiB)), status: 'completed' as const, startTime: s.createdAt, tags: tags[s.snapshotId] ?? {},
    }));
  }

  private async readTags(): Promise<TagFile> {
    try {
      return JSON.parse(await readFile(this.tagPath, 'utf8')) as TagFile;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw err;
    }
  }

  /** Read-modify-write of the tag file, serialized inside this process; written by temp file + rename. */
  private updateTags(change: (all: TagFile) => void): Promise<void> {
    const run = this.chain.then(async () => {
      const all = await this.readTags();
      change(all);
      await mkdir(this.provider.root, { recursive: true });
      const temp = `${this.tagPath}.tmp`;
      await writeFile(temp, JSON.stringify(all));
      await rename(temp, this.tagPath);
    });
    this.chain = run.catch(() => undefined);
    return run;
  }
}

function volumeOf(target: SnapshotTarget): string {
  if (target.type !== 'ebs-volume') throw new InvalidArgumentError(`${target.type} ${target.id}: local snapshots are of volumes (ebs-volume) only`);
  return target.id;
}
