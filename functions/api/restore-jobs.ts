// Restores the local server runs in the background: a restore point's disk to an image file under the restore dir.
import { randomUUID } from 'node:crypto';
import { mkdir, stat } from 'node:fs/promises';
import { dirname, relative, resolve } from 'node:path';
import type { BlockProcessor } from '../../core/engine/block-processor.ts';
import { restoreDisk } from '../../core/engine/restore.ts';
import { ConflictError } from '../../core/control/control-errors.ts';
import { InvalidArgumentError } from '../../core/errors.ts';
import type { Manifest } from '../../core/repo/manifest.ts';
import type { Repository } from '../../core/repo/repository.ts';
import { FileVolumeSink } from '../../providers/local/file-volume-sink.ts';
import { NotFoundError } from './api-errors.ts';
import type { ImageRestoreJob, RestoreKind, RestoreRequest, RestoreService } from './ports.ts';
import { removePartial, restoreTarget, sha256File } from './restore-files.ts';

export type { ImageRestoreJob, RestoreJob, RestoreRequest } from './ports.ts';

/** The restore points of an account in the repository, newest last. */
export async function accountPoints(repo: Repository, account: string): Promise<Manifest[]> {
  return (await repo.listManifests()).filter((m) => m.resource.account === account);
}

interface Running {
  done: Promise<void>;
  abort: AbortController;
}

export class LocalRestoreJobs implements RestoreService {
  readonly kinds: readonly RestoreKind[] = ['image'];
  private readonly jobs = new Map<string, ImageRestoreJob>();
  private readonly running = new Map<string, Running>();
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
  async start(account: string, req: RestoreRequest): Promise<ImageRestoreJob> {
    if (req.kind !== 'image') throw new InvalidArgumentError(`kind ${JSON.stringify(req.kind)}: this server restores only images (kind "image")`);
    const target = restoreTarget(this.restoreDir, req.targetPath);
    const manifest = (await accountPoints(this.repo, account)).find((m) => m.id === req.pointId);
    if (!manifest) throw new NotFoundError(`no restore point ${JSON.stringify(req.pointId)} in account ${account}`);
    const disk = manifest.disks.find((d) => d.name === req.disk);
    if (!disk) throw new InvalidArgumentError(`restore point ${manifest.id} has no disk ${JSON.stringify(req.disk)}; it has ${manifest.disks.map((d) => d.name).join(', ') || 'none'}`);
    if (await stat(target).then(() => true, () => false)) throw new ConflictError(`target ${req.targetPath}`, 'the file exists: choose a new targetPath');
    for (const j of this.jobs.values()) if (j.status === 'running' && resolve(this.restoreDir, j.targetPath) === target) throw new ConflictError(`target ${req.targetPath}`, 'a running restore writes it');
    const job: ImageRestoreJob = {
      kind: 'image', id: randomUUID(), account, pointId: manifest.id, disk: disk.name, targetPath: relative(this.restoreDir, target),
      status: 'running', bytesDone: 0, bytesTotal: disk.size, result: null, error: null, createdAt: Date.now(), endedAt: null,
    };
    this.jobs.set(job.id, job);
    const abort = new AbortController();
    const done = this.run(job, manifest, abort.signal).finally(() => this.running.delete(job.id));
    this.running.set(job.id, { done, abort });
    return job;
  }

  get(account: string, id: string): ImageRestoreJob {
    const job = this.jobs.get(id);
    if (!job || job.account !== account) throw new NotFoundError(`no restore ${JSON.stringify(id)} in account ${account}`);
    return job;
  }

  list(account: string): ImageRestoreJob[] {
    return [...this.jobs.values()].filter((j) => j.account === account).reverse();
  }

  /** Aborts a running restore and waits until its partial file is gone; ConflictError when it already ended. */
  async cancel(account: string, id: string): Promise<ImageRestoreJob> {
    const job = this.get(account, id);
    const run = this.running.get(id);
    if (job.status !== 'running' || !run) throw new ConflictError(`restore ${id}`, `it is ${job.status}: only a running restore can be cancelled`);
    run.abort.abort(new Error('cancelled through the API'));
    await run.done;
    return job;
  }

  /** Waits for every running restore (for shutdown and tests). */
  async idle(): Promise<void> {
    await Promise.all([...this.running.values()].map((r) => r.done));
  }

  private async run(job: ImageRestoreJob, manifest: Manifest, signal: AbortSignal): Promise<void> {
    const processor = this.processor();
    const target = resolve(this.restoreDir, job.targetPath);
    const sink = new FileVolumeSink(target);
    const started = performance.now();
    try {
      await mkdir(dirname(target), { recursive: true });
      const index = await this.repo.loadIndexForRestore({ signal });
      const onProgress = (p: { bytesDone: number }) => {
        job.bytesDone = p.bytesDone;
      };
      const result = await restoreDisk({ repo: this.repo, index, processor, onProgress, signal }, manifest, job.disk, sink);
      const sha256 = await sha256File(target, signal);
      job.result = { ...result, sha256, durationMs: Math.round(performance.now() - started) };
      job.bytesDone = job.bytesTotal;
      job.status = 'succeeded';
    } catch (err) {
      await sink.close().catch(() => {});
      await removePartial(target).catch(() => {});
      if (signal.aborted) {
        job.status = 'cancelled';
      } else {
        job.status = 'failed';
        job.error = 'restore failed';
        this.log({ level: 'ERROR', message: 'restore failed', restoreId: job.id, account: job.account, error: String((err as Error)?.stack ?? err) });
      }
    } finally {
      job.endedAt = Date.now();
      await sink.close().catch(() => {});
      await processor.close();
    }
  }
}
