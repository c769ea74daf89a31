// Translates a policy schedule (5-field cron or rate) to an EventBridge Scheduler expression, or says why it cannot.
import { InvalidArgumentError } from '../errors.ts';
import { parseSchedule } from './schedule.ts';

const DAY_NAMES = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];
const MONTH_NAMES = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];

/** An expression EventBridge cannot run; `where` names the policy and field, e.g. 'policy "web" snapshots.schedule'. */
function refuse(where: string, schedule: string, why: string): never {
  throw new InvalidArgumentError(`${where}: ${JSON.stringify(schedule)} cannot run on EventBridge Scheduler: ${why}`);
}

const isAny = (field: string) => field === '*' || field === '?';

/** "*\/N" becomes "start/N": EventBridge documents increments as start/step. */
function increments(field: string, start: number): string {
  return field.replace(/^\*\/(\d+)$/, `${start}/$1`);
}

/** A day-of-week value (0-7 or SUN-SAT) as 0..6 (Sunday 0), or undefined. */
function dayOf(token: string): number | undefined {
  if (/^\d+$/.test(token)) {
    const n = Number(token);
    return n <= 7 ? n % 7 : undefined;
  }
  const i = DAY_NAMES.indexOf(token.toUpperCase());
  return i >= 0 ? i : undefined;
}

/** The days (0..6) a cron day-of-week field selects; undefined for syntax EventBridge lacks (L, #). */
function weekdays(field: string): Set<number> | undefined {
  const days = new Set<number>();
  for (const part of field.split(',')) {
    const m = /^(\*|[A-Za-z0-9]+)(?:-([A-Za-z0-9]+))?(?:\/(\d+))?$/.exec(part);
    if (!m) return undefined;
    const step = m[3] === undefined ? 1 : Number(m[3]);
    if (step < 1) return undefined;
    let from = 0;
    let to = 6;
    if (m[1] !== '*') {
      const a = dayOf(m[1]);
      if (a === undefined) return undefined;
      from = a;
      to = a;
      if (m[2] !== undefined) {
        // 7 ends a range on Sunday (5-7 is Friday to Sunday).
        const b = /^\d+$/.test(m[2]) && Number(m[2]) === 7 ? 7 : dayOf(m[2]);
        if (b === undefined || b < a) return undefined;
        to = b;
      } else if (m[3] !== undefined) to = 6;
    } else if (m[2] !== undefined) return undefined;
    for (let d = from; d <= to; d += step) days.add(d % 7);
  }
  return days;
}

/** Selected days as EventBridge names: a run "MON-FRI" when contiguous (Sunday first), else a list. */
function dayNames(days: Set<number>): string {
  const sorted = [...days].sort((a, b) => a - b);
  const contiguous = sorted.length > 2 && sorted.every((d, i) => i === 0 || d === sorted[i - 1] + 1);
  if (contiguous) return `${DAY_NAMES[sorted[0]]}-${DAY_NAMES[sorted[sorted.length - 1]]}`;
  return sorted.map((d) => DAY_NAMES[d]).join(',');
}

function month(field: string, where: string, schedule: string): string {
  const out = increments(field.toUpperCase(), 1);
  if (!/^[0-9A-Z*,\-/]+$/.test(out) || /[A-Z]/.test(out.replace(new RegExp(MONTH_NAMES.join('|'), 'g'), ''))) {
    refuse(where, schedule, `month field ${JSON.stringify(field)} is not 1-12 or JAN-DEC with , - * /`);
  }
  return out;
}

/**
 * `rate(...)` unchanged; a 5-field cron as EventBridge's 6-field `cron(min hour dom month dow year)`.
 * EventBridge needs "?" in day-of-month or day-of-week and numbers weekdays 1-7 from Sunday, so
 * weekdays are written as names (SUN-SAT). Cron runs a day matching either restricted field;
 * EventBridge cannot, so restricting both is refused. `where` prefixes every error.
 */
export function toEventBridgeExpression(schedule: string, where: string): string {
  const parsed = parseSchedule(schedule);
  if (parsed.kind === 'rate') return schedule;
  const [minute, hour, dom, mon, dow] = parsed.expression.split(/\s+/);
  for (const [name, field] of [['minute', minute], ['hour', hour]] as const) {
    if (!/^[0-9*,\-/]+$/.test(field)) refuse(where, schedule, `${name} field ${JSON.stringify(field)} is not numbers with , - * /`);
  }
  if (!isAny(dom) && !isAny(dow)) {
    refuse(where, schedule, `it restricts both day-of-month (${dom}) and day-of-week (${dow}); cron runs on days matching either, EventBridge needs "?" in one of them; restrict only one, or split it into two policies`);
  }
  if (!/^([0-9*,\-/]+|L|\d{1,2}W|LW)$/.test(dom) && !isAny(dom)) refuse(where, schedule, `day-of-month field ${JSON.stringify(dom)} is not numbers with , - * / (or L, W)`);
  let dayOfMonth = '?';
  let dayOfWeek = '?';
  if (!isAny(dow)) {
    const days = weekdays(dow);
    if (!days) refuse(where, schedule, `day-of-week field ${JSON.stringify(dow)} is not 0-7 or SUN-SAT with , - * /`);
    if (days.size === 7) dayOfMonth = '*';
    else dayOfWeek = dayNames(days);
  } else {
    dayOfMonth = dom === '?' ? '*' : increments(dom, 1);
  }
  return `cron(${increments(minute, 0)} ${increments(hour, 0)} ${dayOfMonth} ${month(mon, where, schedule)} ${dayOfWeek} *)`;
}
