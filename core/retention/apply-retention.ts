// Decides which restore points a retention policy keeps, with the reasons for each.
import { InvalidArgumentError } from '../errors.ts';
import { parseDuration } from './duration.ts';
import { parseRetentionPolicy } from './retention-policy.ts';
import type { RetentionPolicy } from './retention-policy.ts';

export interface RetentionPoint {
  id: string;
  /** Milliseconds since the Unix epoch. */
  time: number;
  tags?: string[];
}

export interface RetentionOptions {
  /** Local offset from UTC used for calendar buckets, e.g. 60 for UTC+1; default 0. */
  timeZoneOffsetMinutes?: number;
}

export interface RetentionResult<T> {
  /** Newest first. */
  keep: Array<{ point: T; reasons: string[] }>;
  /** Newest first. */
  remove: T[];
}

/** Reason given when the safeguard keeps the newest point; see applyRetention. */
export const SAFEGUARD_REASON = 'newest (safeguard)';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

// Bucket keys on local time (UTC shifted by the offset); each rule keeps the first point
// it sees in a new bucket, so buckets only have to be distinct, not meaningful numbers.
type Bucket = (local: number) => number;
const byHour: Bucket = (local) => Math.floor(local / HOUR);
const byDay: Bucket = (local) => Math.floor(local / DAY);
// 1970-01-01 was a Thursday: +3 days moves week starts to Mondays, matching ISO weeks.
const byWeek: Bucket = (local) => Math.floor((byDay(local) + 3) / 7);
const byMonth: Bucket = (local) => new Date(local).getUTCFullYear() * 12 + new Date(local).getUTCMonth();
const byYear: Bucket = (local) => new Date(local).getUTCFullYear();

const COUNT_RULES = [
  { field: 'keepLast', reason: 'last', bucket: null },
  { field: 'keepHourly', reason: 'hourly', bucket: byHour },
  { field: 'keepDaily', reason: 'daily', bucket: byDay },
  { field: 'keepWeekly', reason: 'weekly', bucket: byWeek },
  { field: 'keepMonthly', reason: 'monthly', bucket: byMonth },
  { field: 'keepYearly', reason: 'yearly', bucket: byYear },
] as const;

function checkInputs(points: readonly RetentionPoint[], now: number, offset: number): void {
  if (!Number.isFinite(now)) throw new InvalidArgumentError(`now: expected milliseconds since the epoch, got ${now}`);
  if (!Number.isInteger(offset) || offset < -720 || offset > 840) {
    throw new InvalidArgumentError(`timeZoneOffsetMinutes: expected an integer from -720 to 840, got ${offset}`);
  }
  const ids = new Set<string>();
  for (const point of points) {
    if (!Number.isFinite(point.time)) {
      throw new InvalidArgumentError(`restore point ${JSON.stringify(point.id)}: expected a finite time in ms, got ${point.time}`);
    }
    // Removal is by id, so a duplicate would make "remove" ambiguous.
    if (ids.has(point.id)) throw new InvalidArgumentError(`restore point id ${JSON.stringify(point.id)}: expected unique ids, got a duplicate`);
    ids.add(point.id);
  }
}

/**
 * Applies `policy` to one group of restore points (one resource: volume, bucket, database).
 * Grouping is the caller's job: mixing resources would let one resource's points use up
 * another's buckets.
 *
 * Semantics follow restic's `forget` count rules: points are walked newest first (equal
 * times ordered by id, so results are deterministic); keepLast n keeps the n newest;
 * keepHourly/Daily/Weekly/Monthly/Yearly n keep the newest point of each of the n most recent
 * calendar hours/days/ISO weeks (Monday start)/months/years that hold points, on UTC shifted
 * by timeZoneOffsetMinutes. keepWithin keeps every point with time >= now - duration. A point
 * kept by several rules lists every reason.
 *
 * Unlike restic, keepWithin counts back from `now`, not from the newest point, so a resource
 * whose backups stopped could age out completely. Safeguard: when a non-empty group would
 * lose every point, the newest is kept with reason SAFEGUARD_REASON. Count rules never
 * trigger it (any count > 0 keeps the newest) and a policy with every rule at zero is
 * rejected, so only a keepWithin-only policy can reach it.
 */
export function applyRetention<T extends RetentionPoint>(
  points: T[],
  policy: RetentionPolicy,
  now: number,
  options: RetentionOptions = {},
): RetentionResult<T> {
  const checked = parseRetentionPolicy(policy);
  const offsetMs = (options.timeZoneOffsetMinutes ?? 0) * 60_000;
  checkInputs(points, now, options.timeZoneOffsetMinutes ?? 0);

  const sorted = [...points].sort((a, b) => b.time - a.time || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const rules = COUNT_RULES.map((rule) => ({ ...rule, left: checked[rule.field] ?? 0, lastBucket: NaN }));
  const within = checked.keepWithin === undefined ? 0 : parseDuration(checked.keepWithin);

  const result: RetentionResult<T> = { keep: [], remove: [] };
  for (const point of sorted) {
    const reasons: string[] = [];
    for (const rule of rules) {
      if (rule.left === 0) continue;
      const bucket = rule.bucket === null ? NaN : rule.bucket(point.time + offsetMs);
      // NaN never equals itself, so keepLast treats every point as a new bucket.
      if (bucket === rule.lastBucket) continue;
      rule.lastBucket = bucket;
      rule.left -= 1;
      reasons.push(rule.reason);
    }
    if (within > 0 && point.time >= now - within) reasons.push(`within ${checked.keepWithin}`);
    if (reasons.length > 0) result.keep.push({ point, reasons });
    else result.remove.push(point);
  }

  if (result.keep.length === 0 && sorted.length > 0) {
    result.keep.push({ point: sorted[0], reasons: [SAFEGUARD_REASON] });
    result.remove.shift();
  }
  return result;
}
