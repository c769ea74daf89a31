// A RestoreService honoring the AWS kinds of the API contract, without AWS: jobs stay running until the
// test finishes them with a result (what the restore state machine reports) or they are cancelled.
import { randomUUID } from 'node:crypto';
import { ConflictError } from '../../core/control/control-errors.ts';
import { NotFoundError } from '../../functions/api/api-errors.ts';
import type { AwsRestoreJob, AwsRestoreKind, AwsRestoreRequest, AwsRestoreResult, RestoreKind, RestoreRequest, RestoreService } from '../../functions/api/ports.ts';

export class FakeAwsRestores implements RestoreService {
  readonly kinds: readonly RestoreKind[] = ['snapshot', 'ebs-volume', 'instance'];
  /** The requests started, as the API passed them. */
  readonly requests: AwsRestoreRequest[] = [];
  private readonly jobs = new Map<string, AwsRestoreJob>();
  private readonly sizes: (pointId: string) => number;

  constructor(sizes: (pointId: string) => number) {
    this.sizes = sizes;
  }

  async start(account: string, req: RestoreRequest): Promise<AwsRestoreJob> {
    if (req.kind === 'image') throw new Error('the fake restores the AWS kinds only');
    this.requests.push(req);
    const job: AwsRestoreJob = {
      id: randomUUID(), account, pointId: req.pointId, kind: req.kind as AwsRestoreKind, disks: req.disks ?? null, target: req.target,
      status: 'running', bytesDone: 0, bytesTotal: this.sizes(req.pointId), result: null, error: null, createdAt: Date.now(), endedAt: null,
    };
    this.jobs.set(job.id, job);
    return job;
  }

  get(account: string, id: string): AwsRestoreJob {
    const job = this.jobs.get(id);
    if (!job || job.account !== account) throw new NotFoundError(`no restore ${JSON.stringify(id)} in account ${account}`);
    return job;
  }

  list(account: string): AwsRestoreJob[] {
    return [...this.jobs.values()].filter((j) => j.account === account).reverse();
  }

  async cancel(account: string, id: string): Promise<AwsRestoreJob> {
    const job = this.get(account, id);
    if (job.status !== 'running') throw new ConflictError(`restore ${id}`, `it is ${job.status}: only a running restore can be cancelled`);
    Object.assign(job, { status: 'cancelled', endedAt: Date.now() });
    return job;
  }

  /** Ends the only running job with `result`, as the state machine's succeeded execution would. */
  finish(result: AwsRestoreResult): AwsRestoreJob {
    const running = [...this.jobs.values()].filter((j) => j.status === 'running');
    if (running.length !== 1) throw new Error(`expected one running restore, found ${running.length}`);
    return Object.assign(running[0], { status: 'succeeded', result, bytesDone: running[0].bytesTotal, endedAt: Date.now() });
  }
}
