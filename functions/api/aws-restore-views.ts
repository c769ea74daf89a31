// Restores of the AWS kinds as the API shows them: one execution of the restore state machine as a RestoreJob.
import type { DescribeExecutionCommandOutput } from '@aws-sdk/client-sfn';
import type { AwsRestoreJob, AwsRestoreKind, AwsRestoreResult, RestoreStatus } from './ports.ts';

const GiB = 1024 ** 3;

/** The execution's input: the restore state machine's request (core/orchestration/restore-types.ts). */
export interface ExecutionInput {
  account?: string;
  pointId?: string;
  disks?: string[];
  target?: { region: string; roleArn?: string };
  volume?: { availabilityZone: string };
  instance?: object;
}

/** The state after RestoreDone: the plan, what the worker restored, and the volumes or the instance made of it. */
interface ExecutionOutput {
  restored?: { snapshots?: Array<{ disk: string; snapshotId: string; sizeGiB?: number }> };
  volumes?: { volumeIds?: string[] };
  instance?: { instanceId?: string; imageId?: string };
}

const STATUS: Record<string, RestoreStatus> = { RUNNING: 'running', SUCCEEDED: 'succeeded', FAILED: 'failed', TIMED_OUT: 'failed', ABORTED: 'cancelled', PENDING_REDRIVE: 'failed' };

export const kindOfInput = (input: ExecutionInput): AwsRestoreKind => (input.instance ? 'instance' : input.volume ? 'ebs-volume' : 'snapshot');

export function parseJson<T>(text: string | undefined): T | undefined {
  if (!text) return undefined;
  try {
    return JSON.parse(text) as T;
  } catch {
    return undefined;
  }
}

/** A failed execution's message: a handler's errorMessage (its cause is the Lambda error as JSON, trace left out), else the cause or error. */
export function failureMessage(error: string | undefined, cause: string | undefined): string {
  const lambda = parseJson<{ errorMessage?: unknown }>(cause);
  if (lambda && typeof lambda.errorMessage === 'string') return lambda.errorMessage;
  return cause || error || 'the restore failed';
}

function resultOf(input: ExecutionInput, output: ExecutionOutput | undefined): AwsRestoreResult {
  const snapshots = output?.restored?.snapshots ?? [];
  const volumeIds = output?.volumes?.volumeIds;
  const zone = input.volume?.availabilityZone ?? '';
  return {
    region: input.target?.region ?? '',
    snapshots: snapshots.map((s) => ({ disk: s.disk, snapshotId: s.snapshotId })),
    // CreateRestoredVolumes makes one volume per restored snapshot, in their order.
    ...(volumeIds ? { volumes: volumeIds.map((volumeId, i) => ({ disk: snapshots[i]?.disk ?? '', volumeId, availabilityZone: zone })) } : {}),
    ...(output?.instance?.instanceId ? { instanceId: output.instance.instanceId } : {}),
    ...(output?.instance?.imageId ? { imageId: output.instance.imageId } : {}),
  };
}

/** The job of a described execution; the account is the input's (the caller checked it). */
export function executionJob(d: Pick<DescribeExecutionCommandOutput, 'name' | 'status' | 'startDate' | 'stopDate' | 'output' | 'error' | 'cause'>, input: ExecutionInput): AwsRestoreJob {
  const status = STATUS[d.status ?? ''] ?? 'running';
  const output = status === 'succeeded' ? parseJson<ExecutionOutput>(d.output) : undefined;
  const result = status === 'succeeded' ? resultOf(input, output) : null;
  const bytes = (output?.restored?.snapshots ?? []).reduce((n, s) => n + (s.sizeGiB ?? 0) * GiB, 0);
  return {
    kind: kindOfInput(input),
    id: d.name ?? '',
    account: input.account ?? '',
    pointId: input.pointId ?? '',
    disks: input.disks ?? null,
    target: { region: input.target?.region ?? '', ...(input.target?.roleArn ? { roleArn: input.target.roleArn } : {}) },
    status,
    bytesDone: bytes,
    bytesTotal: bytes,
    result,
    error: status === 'failed' ? failureMessage(d.error, d.cause) : null,
    createdAt: d.startDate?.getTime() ?? 0,
    endedAt: d.stopDate?.getTime() ?? null,
  };
}
