// A Scheduler for the embedded default: each schedule is <dir>/<group>/<name>.json, written by temp-file + rename.
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { throwIfAborted } from '../../core/errors.ts';
import { SCHEDULE_PREFIX, SchedulerError, type ScheduleSpec, type Scheduler, type SchedulerIoOptions } from '../../core/policy/scheduler-port.ts';

const SUFFIX = '.json';
// Group and schedule names are EventBridge names ([0-9a-zA-Z-_.]{1,64}), so they are safe file names.
const NAME = /^[0-9a-zA-Z_-][0-9a-zA-Z_.-]{0,63}$/;
const codeOf = (err: unknown): string | undefined => (err as NodeJS.ErrnoException | undefined)?.code;

function checkName(kind: string, name: string): string {
  if (!NAME.test(name)) throw new SchedulerError(`invalid ${kind} ${JSON.stringify(name)}: expected 1-64 letters, digits and - _ . (not starting with .)`);
  return name;
}

function fail(what: string, err: unknown): never {
  throw new SchedulerError(`${what} failed: ${(err as Error).message}`, { cause: err });
}

export class LocalScheduler implements Scheduler {
  readonly description: string;
  private readonly root: string;

  constructor(dir: string) {
    this.root = resolve(dir);
    this.description = `local scheduler ${this.root}`;
  }

  async list(groupName: string, options: SchedulerIoOptions = {}): Promise<ScheduleSpec[]> {
    throwIfAborted(options.signal);
    const dir = join(this.root, checkName('schedule group', groupName));
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (err) {
      if (codeOf(err) === 'ENOENT') return [];
      fail(`list ${dir}`, err);
    }
    const out: ScheduleSpec[] = [];
    for (const file of names.filter((n) => n.startsWith(SCHEDULE_PREFIX) && n.endsWith(SUFFIX)).sort()) {
      const spec = await this.read(join(dir, file));
      if (spec) out.push(spec);
    }
    return out;
  }

  async create(spec: ScheduleSpec, options: SchedulerIoOptions = {}): Promise<void> {
    await this.write(spec, options);
  }

  async update(spec: ScheduleSpec, options: SchedulerIoOptions = {}): Promise<void> {
    await this.write(spec, options);
  }

  async delete(groupName: string, name: string, options: SchedulerIoOptions = {}): Promise<void> {
    throwIfAborted(options.signal);
    const path = this.pathOf(groupName, name);
    await unlink(path).catch((err: unknown) => {
      if (codeOf(err) !== 'ENOENT') fail(`delete ${path}`, err);
    });
  }

  private pathOf(groupName: string, name: string): string {
    return join(this.root, checkName('schedule group', groupName), `${checkName('schedule name', name)}${SUFFIX}`);
  }

  private async read(path: string): Promise<ScheduleSpec | undefined> {
    try {
      return JSON.parse(await readFile(path, 'utf8')) as ScheduleSpec;
    } catch (err) {
      if (codeOf(err) === 'ENOENT') return undefined;
      fail(`read ${path}`, err);
    }
  }

  private async write(spec: ScheduleSpec, options: SchedulerIoOptions): Promise<void> {
    throwIfAborted(options.signal);
    const path = this.pathOf(spec.groupName, spec.name);
    const dir = join(this.root, spec.groupName);
    const temp = join(dir, `.tmp-${randomBytes(8).toString('hex')}`);
    const record: ScheduleSpec = {
      name: spec.name, groupName: spec.groupName, expression: spec.expression, timeZone: spec.timeZone,
      targetArn: spec.targetArn, roleArn: spec.roleArn, input: spec.input,
      ...(spec.state === 'DISABLED' ? { state: spec.state } : {}),
    };
    try {
      await mkdir(dir, { recursive: true });
      await writeFile(temp, `${JSON.stringify(record, null, 2)}\n`, { flag: 'wx' });
      await rename(temp, path);
    } catch (err) {
      await unlink(temp).catch(() => undefined);
      fail(`write ${path}`, err);
    }
  }
}
