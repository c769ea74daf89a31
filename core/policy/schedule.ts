// Policy schedules (5-field cron or rate(N unit)) and IANA time zones: validation and next run times.
import { Cron } from 'croner';
import { InvalidArgumentError } from '../errors.ts';

const RATE = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/;
const UNIT_MS: Record<string, number> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };
const RATE_FORM = 'rate(N minutes|hours|days) with a whole N of at least 1, e.g. rate(12 hours) or rate(1 day)';
const CRON_FORM = 'minute hour day month weekday';

export type ParsedSchedule = { kind: 'cron'; expression: string } | { kind: 'rate'; everyMs: number };

/** Why `text` is not a schedule, or undefined when it is one. */
export function scheduleProblem(text: string): string | undefined {
  const shown = JSON.stringify(text);
  if (text.startsWith('rate(') || text.startsWith('rate ')) {
    const m = RATE.exec(text);
    if (!m) return `${shown} is not a valid rate expression; expected ${RATE_FORM}`;
    const n = Number(m[1]);
    const singular = !m[2].endsWith('s');
    if (!(n >= 1) || !Number.isSafeInteger(n)) return `${shown} is not a valid rate expression; expected ${RATE_FORM}`;
    // EventBridge Scheduler, which will run these schedules, rejects "rate(1 hours)" and "rate(2 hour)".
    if (n === 1 && !singular) return `${shown} is not a valid rate expression; write rate(1 ${m[2].slice(0, -1)})`;
    if (n > 1 && singular) return `${shown} is not a valid rate expression; write rate(${n} ${m[2]}s)`;
    return undefined;
  }
  const fields = text.trim().split(/\s+/);
  if (fields.length !== 5 || text.trim() === '') {
    return `${shown} is not a schedule; expected a 5-field cron expression (${CRON_FORM}) or ${RATE_FORM}`;
  }
  try {
    new Cron(text, { paused: true });
  } catch {
    return `${shown} is not a valid cron expression (${CRON_FORM})`;
  }
  return undefined;
}

/** Why `zone` is not an IANA time zone name, or undefined when it is one. */
export function timeZoneProblem(zone: string): string | undefined {
  const bad = `${JSON.stringify(zone)} is not an IANA time zone; expected a name such as "UTC", "Europe/Berlin" or "America/New_York"`;
  // Intl also accepts offsets like "+01:00"; those ignore daylight saving time, so only names are allowed.
  if (!/^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+)*$/.test(zone)) return bad;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return undefined;
  } catch {
    return bad;
  }
}

export function parseSchedule(text: string): ParsedSchedule {
  const problem = scheduleProblem(text);
  if (problem) throw new InvalidArgumentError(problem);
  const m = RATE.exec(text);
  if (m) return { kind: 'rate', everyMs: Number(m[1]) * UNIT_MS[m[2].replace(/s$/, '')] };
  return { kind: 'cron', expression: text.trim() };
}

/**
 * The next `count` run times strictly after `from`. Cron schedules follow the wall clock of
 * `timeZone`: a time skipped by a DST change runs once right after the jump, and a time that
 * occurs twice runs once, at its first occurrence. Rate schedules count from `from`, as
 * EventBridge counts from the schedule's creation, and ignore the time zone.
 */
export function nextRuns(schedule: string, timeZone: string, from: Date, count: number): Date[] {
  if (!Number.isSafeInteger(count) || count < 0) throw new InvalidArgumentError(`run count ${count}: expected a whole number of at least 0`);
  const zoneProblem = timeZoneProblem(timeZone);
  if (zoneProblem) throw new InvalidArgumentError(zoneProblem);
  const parsed = parseSchedule(schedule);
  if (count === 0) return [];
  if (parsed.kind === 'rate') return Array.from({ length: count }, (_, i) => new Date(from.getTime() + (i + 1) * parsed.everyMs));
  return new Cron(parsed.expression, { timezone: timeZone, paused: true }).nextRuns(count, from);
}
