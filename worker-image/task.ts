// The worker's task document: what one EC2 worker backs up or restores, read from an env var or /etc/cloudkeep/task.json.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { InvalidArgumentError } from '../core/errors.ts';

/** Where the bootstrap writes the instance's user data (the task document). */
export const DEFAULT_TASK_FILE = '/etc/cloudkeep/task.json';

const id = z.string().min(1).max(1024);
const account = z.string().regex(/^\d{12}$/, 'expected a 12-digit AWS account id');
const region = z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d+$/, 'expected an AWS region such as eu-west-1');
const tags = z.record(z.string().min(1).max(128), z.string().max(256));
const rps = z.number().positive().max(100_000);

export const TaskDiskSchema = z.strictObject({
  /** The disk's name in the restore point, e.g. "root" or "/dev/xvdf". */
  name: z.string().min(1),
  snapshotId: id,
  volumeId: id,
  /** The snapshot the parent point's disk was read from: only changed blocks are read. */
  baseSnapshotId: id.optional(),
});

export const TaskSchema = z
  .strictObject({
    kind: z.enum(['backup', 'restore']),
    /** The Step Functions task token (.waitForTaskToken); a credential of sorts: never logged. */
    taskToken: z.string().min(1).max(1024),
    account,
    region,
    /** Repository URL, as cli/repo-url.ts accepts it (s3://bucket/prefix?region=…, file:///…). */
    repository: z.string().min(1),
    /** Key spec, as providers/key-providers.ts accepts it (aws-kms:<arn>, passphrase, …). */
    key: z.string().min(1),
    resource: z.strictObject({
      id,
      kind: z.enum(['volume', 'instance', 'vm', 'database']),
      account,
      region,
      name: z.string().optional(),
    }),
    disks: z.array(TaskDiskSchema).default([]),
    parentPointId: id.optional(),
    tags: tags.default({}),
    limits: z
      .strictObject({
        /** GetSnapshotBlock requests per second, per snapshot and for the whole account. */
        readRps: z.strictObject({ snapshot: rps.optional(), account: rps.optional() }).optional(),
      })
      .optional(),
    restore: z
      .strictObject({
        pointId: id,
        /** One disk to restore, or `disks`; neither: every disk of the point. */
        disk: z.string().min(1).optional(),
        disks: z.array(z.string().min(1)).min(1).optional(),
        /** Size of each new snapshot; default: the disk's size rounded up to whole GiB. */
        targetVolumeSizeGiB: z.number().int().positive().max(65_536).optional(),
        kmsKeyArn: z.string().min(1).optional(),
        tags: tags.default({}),
      })
      .optional(),
  })
  .superRefine((t, ctx) => {
    if (t.kind === 'backup') {
      if (t.disks.length === 0) ctx.addIssue({ code: 'custom', path: ['disks'], message: 'a backup task needs at least one disk' });
      if (t.restore) ctx.addIssue({ code: 'custom', path: ['restore'], message: 'only a restore task has "restore"' });
      const names = new Set(t.disks.map((d) => d.name));
      if (names.size !== t.disks.length) ctx.addIssue({ code: 'custom', path: ['disks'], message: 'disk names must be unique' });
      if (!t.parentPointId && t.disks.some((d) => d.baseSnapshotId)) {
        ctx.addIssue({ code: 'custom', path: ['disks'], message: 'baseSnapshotId needs parentPointId (changed blocks are relative to the parent point)' });
      }
    } else if (!t.restore) ctx.addIssue({ code: 'custom', path: ['restore'], message: 'a restore task needs "restore"' });
    else if (t.restore.disk && t.restore.disks) ctx.addIssue({ code: 'custom', path: ['restore', 'disks'], message: 'give "disk" or "disks", not both' });
  });

export type WorkerTask = z.infer<typeof TaskSchema>;

/** A short, stable id of the task for log correlation: a hash, never the token itself. */
export function taskIdOf(taskToken: string): string {
  return createHash('sha256').update(taskToken).digest('hex').slice(0, 16);
}

/** A task document that is not valid; carries the token when one could be read, so the failure can still be reported. */
export class InvalidTaskError extends InvalidArgumentError {
  readonly taskToken: string | undefined;
  constructor(message: string, taskToken?: string) {
    super(message);
    this.name = 'InvalidTaskError';
    this.taskToken = taskToken;
  }
}

/** Parses and validates a task document; the messages name fields, never their values. */
export function parseTask(text: string): WorkerTask {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new InvalidTaskError(`the task document is not JSON: ${(err as Error).message.slice(0, 200)}`);
  }
  const token = typeof raw === 'object' && raw !== null && typeof (raw as { taskToken?: unknown }).taskToken === 'string' ? (raw as { taskToken: string }).taskToken : undefined;
  const r = TaskSchema.safeParse(raw);
  if (!r.success) {
    const issues = r.error.issues.map((i) => `${i.path.join('.') || '(document)'}: ${i.message}`);
    throw new InvalidTaskError(`invalid task document: ${issues.join('; ')}`, token);
  }
  return r.data;
}

export interface TaskLocation {
  /** A task file path (default /etc/cloudkeep/task.json). */
  file?: string;
  env?: Readonly<Record<string, string | undefined>>;
}

/** Reads the task: CLOUDKEEP_TASK (the JSON itself) wins, then the file (`file`, CLOUDKEEP_TASK_FILE, the default path). */
export async function loadTask(where: TaskLocation = {}): Promise<WorkerTask> {
  const env = where.env ?? process.env;
  if (env.CLOUDKEEP_TASK) return parseTask(env.CLOUDKEEP_TASK);
  const file = where.file ?? env.CLOUDKEEP_TASK_FILE ?? DEFAULT_TASK_FILE;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new InvalidTaskError(`cannot read the task file ${JSON.stringify(file)}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return parseTask(text);
}
