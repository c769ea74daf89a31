// Restores of the AWS kinds (snapshot, EBS volumes, whole instance) through the restore state machine:
// the restore id is the execution's name; its status, result and cancel are the execution's.
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { DescribeExecutionCommand, ListExecutionsCommand, StartExecutionCommand, StopExecutionCommand, type SFNClient } from '@aws-sdk/client-sfn';
import { ConflictError } from '../../core/control/control-errors.ts';
import type { ControlStore } from '../../core/control/control-store.ts';
import { InvalidArgumentError } from '../../core/errors.ts';
import { PolicyNotFoundError } from '../../core/orchestration/errors.ts';
import { startRestore } from '../../core/orchestration/restore-start.ts';
import type { Manifest } from '../../core/repo/manifest.ts';
import type { Repository } from '../../core/repo/repository.ts';
import { NotFoundError } from './api-errors.ts';
import { need } from './api-deps.ts';
import { executionJob, parseJson, type ExecutionInput } from './aws-restore-views.ts';
import type { AwsRestoreJob, AwsRestoreRequest, RestoreKind, RestoreRequest, RestoreService } from './ports.ts';
import { accountPoints } from './restore-jobs.ts';
import { pointPolicyId, restoreKindsOf } from './restore-requests.ts';

export interface SfnRestoreServiceOptions {
  sfn: SFNClient;
  /** The cloudkeep-restore state machine. */
  stateMachineArn: string;
  /** The tenants' policies: a restore is checked against them before it starts, as StartRestore checks it. */
  store: ControlStore;
  /** The restore points (each names the policy that made it); absent: starts answer 501. */
  repo?: Repository;
  /** How many of the newest executions `list` looks at. @default 50 */
  listLimit?: number;
}

const EXECUTION_NAME = /^[\w-]{1,80}$/;

export class SfnRestoreService implements RestoreService {
  readonly kinds: readonly RestoreKind[] = ['snapshot', 'ebs-volume', 'instance'];
  private readonly o: SfnRestoreServiceOptions;

  constructor(options: SfnRestoreServiceOptions) {
    this.o = options;
  }

  /** Checks the request against the point and the tenant's policies, then starts the execution. */
  async start(account: string, req: RestoreRequest): Promise<AwsRestoreJob> {
    if (req.kind === 'image') throw new InvalidArgumentError('kind "image": this server restores snapshot, ebs-volume and instance');
    const repo = need(this.o.repo, 'the restore service', 'start it with a repository');
    const point = (await accountPoints(repo, account)).find((m) => m.id === req.pointId);
    if (!point) throw new NotFoundError(`no restore point ${JSON.stringify(req.pointId)} in account ${account}`);
    const input = await this.checkedInput(account, req, point);
    const name = randomUUID();
    const out = await this.o.sfn.send(new StartExecutionCommand({ stateMachineArn: this.o.stateMachineArn, name, input: JSON.stringify(input) }));
    return executionJob({ name, status: 'RUNNING', startDate: out.startDate }, input);
  }

  async get(account: string, id: string): Promise<AwsRestoreJob> {
    const notFound = () => new NotFoundError(`no restore ${JSON.stringify(id)} in account ${account}`);
    if (!EXECUTION_NAME.test(id)) throw notFound();
    const arn = `${this.o.stateMachineArn.replace(':stateMachine:', ':execution:')}:${id}`;
    const d = await this.o.sfn.send(new DescribeExecutionCommand({ executionArn: arn })).catch((err: unknown) => {
      throw (err as Error).name === 'ExecutionDoesNotExist' ? notFound() : err;
    });
    const input = parseJson<ExecutionInput>(d.input) ?? {};
    // Another tenant's restore is as unknown as none.
    if (input.account !== account) throw notFound();
    return executionJob(d, input);
  }

  /** The account's restores among the newest executions, newest first. */
  async list(account: string): Promise<AwsRestoreJob[]> {
    const page = await this.o.sfn.send(new ListExecutionsCommand({ stateMachineArn: this.o.stateMachineArn, maxResults: this.o.listLimit ?? 50 }));
    const jobs = await Promise.all((page.executions ?? []).map((e) => this.get(account, e.name ?? '').catch((err: unknown) => {
      if (err instanceof NotFoundError) return undefined;
      throw err;
    })));
    return jobs.filter((j): j is AwsRestoreJob => j !== undefined);
  }

  /** Stops the execution: EventBridge then runs the restore's cleanup (infra/restore-state-machine.ts). */
  async cancel(account: string, id: string): Promise<AwsRestoreJob> {
    const job = await this.get(account, id);
    if (job.status !== 'running') throw new ConflictError(`restore ${id}`, `it is ${job.status}: only a running restore can be cancelled`);
    const arn = `${this.o.stateMachineArn.replace(':stateMachine:', ':execution:')}:${id}`;
    await this.o.sfn.send(new StopExecutionCommand({ executionArn: arn, error: 'Cloudkeep.Cancelled', cause: 'cancelled through the API' }));
    return this.get(account, id);
  }

  /** The state machine's input, checked here as StartRestore would so that a bad request is a 400 rather than a failed execution. */
  private async checkedInput(account: string, req: AwsRestoreRequest, point: Manifest): Promise<ExecutionInput> {
    const policyId = pointPolicyId(point);
    if (!policyId) throw new InvalidArgumentError(`pointId ${point.id}: the restore point records no policy (tag cloudkeep:policy), so it cannot be restored into AWS; restore it as an image with the CLI`);
    if (restoreKindsOf(point, [req.kind]).length === 0) {
      throw new InvalidArgumentError(`kind "instance": restore point ${point.id} does not record its instance's configuration; restore its volumes instead (kind "ebs-volume")`);
    }
    const missing = (req.disks ?? []).filter((d) => !point.disks.some((x) => x.name === d));
    if (missing.length > 0) throw new InvalidArgumentError(`disks: restore point ${point.id} has no disk ${missing.join(', ')}; it has ${point.disks.map((d) => d.name).join(', ')}`);
    const input = {
      account, policyId, pointId: point.id, ...(req.disks ? { disks: req.disks } : {}), target: req.target,
      ...(req.kind === 'ebs-volume' ? { volume: req.volume } : {}),
      // The instance section, even empty, is what makes the state machine relaunch the instance.
      ...(req.kind === 'instance' ? { instance: req.instance ?? {} } : {}),
    };
    try {
      await startRestore(this.o.store, input, 'check');
    } catch (err) {
      if (err instanceof PolicyNotFoundError) throw new InvalidArgumentError(`pointId ${point.id}: ${err.message}`, { cause: err });
      if (err instanceof z.ZodError) throw new InvalidArgumentError(`invalid body: ${z.prettifyError(err).replace(/\n/g, '; ')}`, { cause: err });
      throw err;
    }
    return input;
  }
}
