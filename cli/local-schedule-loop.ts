// Local schedules fire while `cloudkeep start` serves: what EventBridge Scheduler does in AWS. Each tick
// reads the local scheduler's schedules, computes each ENABLED one's next run (core/policy/schedule.ts)
// and starts the due ones through the PolicyRunner; a DISABLED schedule, or one of a disabled policy, never fires.
import { asAccountId, asPolicyId } from '../core/control/control-ids.ts';
import type { ControlStore } from '../core/control/control-store.ts';
import type { ScheduleSpec, Scheduler } from '../core/policy/scheduler-port.ts';
import { nextRuns } from '../core/policy/schedule.ts';

/** Starts a policy's scheduled run; resolves once its session exists. */
export interface ScheduledRunner {
  runScheduled(account: string, policyId: string): Promise<{ sessionId: string }>;
}

export interface TimerPort {
  set(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

/** Real timers that do not keep the process alive. */
export const unrefTimers: TimerPort = {
  set: (fn, ms) => setTimeout(fn, ms).unref(),
  clear: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export interface ScheduleLoopOptions {
  scheduler: Pick<Scheduler, 'list'>;
  groupName: string;
  store: Pick<ControlStore, 'getPolicy'>;
  runner: ScheduledRunner;
  /** One line per fired (or failed) run. */
  log: (line: string) => void;
  now?: () => number;
  timers?: TimerPort;
  /** Longest wait between two reads of the schedules (they change when policies are applied); default 60 s. */
  pollMs?: number;
}

const FIELD_MAX = [59, 23, 31, 12];

/**
 * A stored EventBridge expression as a policy schedule: rate(...) as is; cron(min hour dom month dow year)
 * as 5-field cron ("?" is "*", "start/step" is "start-max/step"). Undefined when a year is set.
 */
export function policySchedule(expression: string): string | undefined {
  if (expression.startsWith('rate(')) return expression;
  const m = /^cron\((.*)\)$/.exec(expression.trim());
  const fields = m?.[1].trim().split(/\s+/) ?? [];
  if (fields.length !== 6 || fields[5] !== '*') return undefined;
  return fields.slice(0, 5).map((f, i) => (f === '?' ? '*' : f.replace(/^(\d+)\/(\d+)$/, (_, a: string, s: string) => `${a}-${FIELD_MAX[i] ?? 7}/${s}`))).join(' ');
}

interface Due {
  signature: string;
  at: number;
}

export class LocalScheduleLoop {
  private readonly o: ScheduleLoopOptions;
  private readonly now: () => number;
  private readonly timers: TimerPort;
  private readonly due = new Map<string, Due>();
  private timer: unknown;
  private stopped = true;
  private ticking: Promise<void> | undefined;

  constructor(o: ScheduleLoopOptions) {
    this.o = o;
    this.now = o.now ?? Date.now;
    this.timers = o.timers ?? unrefTimers;
  }

  /** Reads the schedules now, then again when the next one is due (at most pollMs later). */
  start(): void {
    this.stopped = false;
    this.arm(0);
  }

  /** No more ticks; resolves once a running tick ended (runs it started go on). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) this.timers.clear(this.timer);
    this.timer = undefined;
    await this.ticking;
  }

  /** One pass: fires every enabled schedule whose next run is due; returns the ms until the next due run. */
  async tick(): Promise<number> {
    const now = this.now();
    const specs = await this.o.scheduler.list(this.o.groupName).catch((err: unknown) => {
      this.o.log(`schedules: reading ${this.o.groupName} failed: ${(err as Error).message}`);
      return undefined;
    });
    const pollMs = this.o.pollMs ?? 60_000;
    if (!specs) return pollMs;
    const enabled = specs.filter((s) => s.state !== 'DISABLED');
    for (const name of this.due.keys()) if (!enabled.some((s) => s.name === name)) this.due.delete(name);
    for (const spec of enabled) {
      const entry = this.entry(spec, now);
      if (!entry || entry.at > now) continue;
      entry.at = this.following(spec, now);
      await this.fire(spec);
    }
    const next = Math.min(...[...this.due.values()].map((d) => d.at));
    return Math.max(0, Math.min(pollMs, next - this.now()));
  }

  private arm(ms: number): void {
    if (this.stopped) return;
    this.timer = this.timers.set(() => {
      this.ticking = this.tick().then((wait) => this.arm(wait), (err: unknown) => {
        this.o.log(`schedules: ${(err as Error).message}`);
        this.arm(this.o.pollMs ?? 60_000);
      });
    }, ms);
  }

  /** The schedule's next run, computed from `now` when the schedule is new or changed. */
  private entry(spec: ScheduleSpec, now: number): Due | undefined {
    const signature = `${spec.expression} ${spec.timeZone}`;
    const known = this.due.get(spec.name);
    if (known?.signature === signature) return known;
    const schedule = policySchedule(spec.expression);
    if (schedule === undefined) {
      if (!known) this.o.log(`schedule ${spec.name}: ${spec.expression} cannot run locally (a year is set); skipped`);
      this.due.set(spec.name, { signature, at: Infinity });
      return undefined;
    }
    const entry = { signature, at: this.following(spec, now) };
    this.due.set(spec.name, entry);
    return entry;
  }

  private following(spec: ScheduleSpec, after: number): number {
    const [next] = nextRuns(policySchedule(spec.expression)!, spec.timeZone, new Date(after), 1);
    return next?.getTime() ?? Infinity;
  }

  private async fire(spec: ScheduleSpec): Promise<void> {
    const where = `schedule ${spec.groupName}/${spec.name}`;
    try {
      const input = JSON.parse(spec.input) as { account: string; policyId: string; run?: string };
      const stored = await this.o.store.getPolicy(asAccountId(input.account), asPolicyId(input.policyId));
      if (!stored) return this.o.log(`${where}: policy ${input.policyId} of account ${input.account} does not exist; not run`);
      if (stored.body.enabled === false) return this.o.log(`${where}: policy ${input.policyId} is disabled; not run`);
      const { sessionId } = await this.o.runner.runScheduled(input.account, input.policyId);
      this.o.log(`${where}: started policy ${input.policyId}${input.run ? ` (${input.run})` : ''}, session ${sessionId}`);
    } catch (err) {
      this.o.log(`${where}: the run did not start: ${(err as Error).message}`);
    }
  }
}
