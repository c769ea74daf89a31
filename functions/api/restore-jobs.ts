// Restores the local server runs in the background: a restore point's disk to an image file under the restore dir.
import { randomUUID } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { isAbsolute, relative, resolve, dirname } from 'node:path';
import { mkdir } from 'node:fs/promises';
import type { BlockProcessor } from '../../core/engine/block-processor.ts';
import { restoreDisk, type RestoreResult } from '../../core/engine/restore.ts';
import { ConflictError } from '../../core/control/control-errors.ts';
import { InvalidArgumentError } from '../../core/errors.ts';
import type { Manifest } from '../../core/repo/manifest.ts';
import type { Repository } from '../../core/repo/repository.ts';
import { FileVolumeSink } from '../../providers/local/file-volume-sink.ts';
import { NotFoundError } from './api-errors.ts';

export interface RestoreJob {
  id: string;
  account: string;
  pointId: string;
  disk: string;
  /** Relative to the server's restore directory. */
  targetPath: string;
  status: 'running' | 'succeeded' | 'failed';
  bytesDone: number;
  bytesTotal: number;
  result: RestoreResult | null;
  error: string | null;
}

export interface RestoreRequest {
  pointId: string;
  disk: string;
  targetPath: string;
}

/** The restore points of an account in the repository, newest last. */
export async function accountPoints(repo: Repository, account: string): Promise<Manifest[]> {
  return (await repo.listManifests()).filter((m) => m.resource.account === account);
}

export class LocalRestoreJobs {
  private readonly jobs = new Map<string, RestoreJob>();
  private readonly running = new Set<Promise<void>>();
  private readonly repo: Repository;
  private readonly restoreDir: string;
  private readonly processor: () => BlockProcessor;
  private readonly log: (entry: Record<string, unknown>) => void;

  constructor(repo: Repository, restoreDir: string, processor: () => BlockProcessor, log: (entry: Record<string, unknown>) => void = () => {}) {
    this.repo = repo;
    this.restoreDir = resolve(restoreDir);
    this.processor = processor;
    this.log = log;
  }

  /** Checks the request, then starts the restore in the background. */
  async start(account: string, req: RestoreRequest): Promise<RestoreJob> {
    const target = this.targetOf(req.targetPath);
    const manifest = (await accountPoints(this.repo, account)).find((m) => m.id === req.pointId);
    if (!manifest) throw new NotFoundError(`no restore point ${JSON.stringify(req.pointId)} in account ${account}`);
    const disk = manifest.disks.find((d) => d.name === req.disk);
    if (!disk) throw new InvalidArgumentError(`restore point ${manifest.id} has no disk ${JSON.stringify(req.disk)}; it has ${manifest.disks.map((d) => d.name).join(', ') || 'none'}`);
    if (await stat(target).then(() => true, () => false)) throw new ConflictError(`target ${req.targetPath}`, 'the file exists: choose a new targetPath');
    for (const j of this.jobs.values()) if (j.status === 'running' && resolve(this.restoreDir, j.targetPath) === target) throw new ConflictError(`target ${req.targetPath}`, 'a running restore writes it');
    const job: RestoreJob = { id: randomUUID(), account, pointId: manifest.id, disk: disk.name, targetPath: relative(this.restoreDir, target), status: 'running', bytesDone: 0, bytesTotal: disk.size, result: null, error: null };
    this.jobs.set(job.id, job);
    const run = this.run(job, manifest).finally(() => this.running.delete(run));
    this.running.add(run);
    return job;
  }

  get(account: string, id: string): RestoreJob {
    const job = this.jobs.get(id);
    if (!job || job.account !== account) throw new NotFoundError(`no restore ${JSON.stringify(id)} in account ${account}`);
    return job;
  }

  /** Waits for every running restore (for shutdown and tests). */
  async idle(): Promise<void> {
    await Promise.all([...this.running]);
  }

  /** The absolute target inside the restore dir; InvalidArgumentError for anything outside it. */
  private targetOf(path: string): string {
    const target = resolve(this.restoreDir, path);
    const rel = relative(this.restoreDir, target);
    if (rel === '' || rel.startsWith('..') || isAbsolute(rel) || path.includes('\0')) {
      throw new InvalidArgumentError(`targetPath ${JSON.stringify(path)}: expected a file path inside the server's restore directory`);
    }
    return target;
  }

  private async run(job: RestoreJob, manifest: Manifest): Promise<void> {
    const processor = this.processor();
    const target = resolve(this.restoreDir, job.targetPath);
    const sink = new FileVolumeSink(target);
    try {
      await mkdir(dirname(target), { recursive: true });
      const index = await this.repo.loadIndexForRestore();
      const onProgress = (p: { bytesDone: number }) => {
        job.bytesDone = p.bytesDone;
      };
      job.result = await restoreDisk({ repo: this.repo, index, processor, onProgress }, manifest, job.disk, sink);
      job.bytesDone = job.bytesTotal;
      job.status = 'succeeded';
    } catch (err) {
      job.status = 'failed';
      job.error = 'restore failed';
      this.log({ level: 'ERROR', message: 'restore failed', restoreId: job.id, account: job.account, error: String((err as Error)?.stack ?? err) });
    } finally {
      await sink.close().catch(() => {});
      await processor.close();
    }
  }
}
