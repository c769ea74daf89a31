// Parses retention durations such as "30d" or "1y6m" into milliseconds.
import { InvalidArgumentError } from '../errors.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

// Calendar-free on purpose: a fixed length per unit keeps retention independent of
// month lengths, leap years and the caller's time zone.
const UNIT_MS: Record<string, number> = { y: 365 * DAY, m: 30 * DAY, w: 7 * DAY, d: DAY, h: HOUR };

const EXPECTED = 'expected one or more <integer><unit> parts with units y (365d), m (30d), w (7d), d, h, each unit at most once, e.g. "30d", "12h" or "1y6m"';

/** Milliseconds in `text`; throws InvalidArgumentError naming the text and the accepted form. */
export function parseDuration(text: string): number {
  const bad = (): InvalidArgumentError =>
    new InvalidArgumentError(`invalid duration ${JSON.stringify(text)}: ${EXPECTED}`);
  if (typeof text !== 'string' || !/^(\d+[ymwdh])+$/.test(text)) throw bad();
  const seen = new Set<string>();
  let total = 0;
  for (const [, digits, unit] of text.matchAll(/(\d+)([ymwdh])/g)) {
    // A repeated unit ("1d2d") is more likely a typo than an intended sum.
    if (seen.has(unit)) throw bad();
    seen.add(unit);
    total += Number(digits) * UNIT_MS[unit];
  }
  if (!Number.isSafeInteger(total)) throw bad();
  return total;
}
