// Retention engine tests: golden files (UPDATE_GOLDEN=1 rewrites them) plus parser errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { InvalidArgumentError } from '../../core/errors.ts';
import { parseDuration } from '../../core/retention/duration.ts';
import { parseRetentionPolicy } from '../../core/retention/retention-policy.ts';
import type { RetentionPolicy } from '../../core/retention/retention-policy.ts';
import { applyRetention, SAFEGUARD_REASON } from '../../core/retention/apply-retention.ts';

const dataDir = new URL('./testdata/retention/', import.meta.url);
const points: Array<{ id: string; time: number }> = JSON.parse(readFileSync(new URL('points.json', dataDir), 'utf8')).map(
  (p: { id: string; time: string }) => ({ id: p.id, time: Date.parse(p.time) }),
);
const NOW = '2026-01-15T12:00:00.000Z';

interface Case {
  name: string;
  policy: RetentionPolicy;
  now?: string;
  timeZoneOffsetMinutes?: number;
}

const cases: Case[] = [
  { name: 'last-3', policy: { keepLast: 3 } },
  { name: 'hourly-6', policy: { keepHourly: 6 } },
  { name: 'daily-7', policy: { keepDaily: 7 } },
  { name: 'weekly-4-monthly-6', policy: { keepWeekly: 4, keepMonthly: 6 } },
  { name: 'yearly-2', policy: { keepYearly: 2 } },
  { name: 'within-30d', policy: { keepWithin: '30d' } },
  { name: 'within-2w-daily-3', policy: { keepWithin: '2w', keepDaily: 3 } },
  { name: 'combo', policy: { keepLast: 2, keepDaily: 5, keepWeekly: 4, keepMonthly: 12, keepYearly: 3 } },
  // 23:30 UTC points move to the next local day, ISO week (2026-01-04 is a Sunday), month and year.
  { name: 'tz-plus60-daily-7', policy: { keepDaily: 7 }, timeZoneOffsetMinutes: 60 },
  { name: 'tz-plus60-weekly-monthly-yearly-3', policy: { keepWeekly: 3, keepMonthly: 3, keepYearly: 3 }, timeZoneOffsetMinutes: 60 },
  // Every point is older than the window: the safeguard keeps the newest.
  { name: 'safeguard-within-expired', policy: { keepWithin: '1d' }, now: '2026-03-01T00:00:00.000Z' },
];

interface Golden {
  policy: RetentionPolicy;
  now: string;
  timeZoneOffsetMinutes?: number;
  keep: Array<{ id: string; reasons: string[] }>;
  remove: string[];
}

function run(c: Case): Golden {
  const now = c.now ?? NOW;
  const options = c.timeZoneOffsetMinutes === undefined ? {} : { timeZoneOffsetMinutes: c.timeZoneOffsetMinutes };
  const result = applyRetention(points, c.policy, Date.parse(now), options);
  return {
    policy: c.policy,
    now,
    ...options,
    keep: result.keep.map((k) => ({ id: k.point.id, reasons: k.reasons })),
    remove: result.remove.map((p) => p.id),
  };
}

// One kept or removed point per line, so golden diffs read like a retention report.
function formatGolden(golden: Golden): string {
  const { keep, remove, ...head } = golden;
  const list = (items: unknown[]): string => items.map((item) => `    ${JSON.stringify(item)}`).join(',\n');
  const fields = Object.entries(head).map(([key, value]) => `  ${JSON.stringify(key)}: ${JSON.stringify(value)},`);
  return `{\n${fields.join('\n')}\n  "keep": [\n${list(keep)}\n  ],\n  "remove": [\n${list(remove)}\n  ]\n}\n`;
}

for (const c of cases) {
  test(`golden: ${c.name}`, () => {
    const file = new URL(`${c.name}.golden.json`, dataDir);
    const actual = run(c);
    if (process.env.UPDATE_GOLDEN === '1') writeFileSync(file, formatGolden(actual));
    assert.deepEqual(actual, JSON.parse(readFileSync(file, 'utf8')));
  });
}

// Derived by hand from the calendar, independent of the golden files, so a careless
// UPDATE_GOLDEN run cannot bless a regression in these cases.
test('hand-checked kept ids', () => {
  const kept = (name: string): string[] =>
    applyRetention(points, cases.find((c) => c.name === name)!.policy, Date.parse(NOW), {
      timeZoneOffsetMinutes: cases.find((c) => c.name === name)!.timeZoneOffsetMinutes,
    }).keep.map((k) => k.point.id);
  assert.deepEqual(kept('last-3'), ['20260115-1100', '20260115-0600', '20260114-2330']);
  assert.deepEqual(kept('yearly-2'), ['20260115-1100', '20251231-2330']);
  assert.deepEqual(kept('weekly-4-monthly-6'), [
    '20260115-1100', '20260111-1000', '20260104-2330', '20251231-2330', '20251228-0300',
    '20251130-1800', '20251031-2200', '20250820-0900', '20250715-0900',
  ]);
  assert.deepEqual(kept('tz-plus60-daily-7'), [
    '20260115-1100', '20260114-0900a', '20260113-0945', '20260112-1300', '20260111-1000', '20260109-2100', '20260108-0900',
  ]);
  assert.deepEqual(kept('tz-plus60-weekly-monthly-yearly-3'), [
    '20260115-1100', '20260111-1000', '20260101-0800', '20251228-0300', '20251130-1800', '20240905-1200',
  ]);
});

test('applyRetention: empty list, unsorted input left untouched, ties by id', () => {
  assert.deepEqual(applyRetention([], { keepLast: 1 }, 0), { keep: [], remove: [] });
  const input = [
    { id: 'b', time: 1000 },
    { id: 'c', time: 2000 },
    { id: 'a', time: 1000 },
  ];
  const copy = structuredClone(input);
  const result = applyRetention(input, { keepLast: 2 }, 5000);
  assert.deepEqual(input, copy);
  assert.deepEqual(result.keep.map((k) => k.point.id), ['c', 'a']);
  assert.deepEqual(result.remove.map((p) => p.id), ['b']);
  assert.equal(result.keep[0].point, input[1], 'returns the caller’s objects, not copies');
});

test('applyRetention: keepWithin boundary is inclusive; negative offset moves a point back a day', () => {
  const day = 86_400_000;
  const now = Date.parse('2026-01-15T12:00:00Z');
  const edge = [{ id: 'edge', time: now - day }, { id: 'older', time: now - day - 1 }, { id: 'new', time: now }];
  const within = applyRetention(edge, { keepWithin: '1d' }, now);
  assert.deepEqual(within.keep.map((k) => k.point.id), ['new', 'edge']);
  // 03:00 UTC on the 15th is 22:00 on the 14th at UTC-5, the same local day as the 14th's 12:00.
  const tz = [{ id: 'x', time: Date.parse('2026-01-15T03:00:00Z') }, { id: 'y', time: Date.parse('2026-01-14T12:00:00Z') }];
  assert.deepEqual(applyRetention(tz, { keepDaily: 5 }, now, { timeZoneOffsetMinutes: -300 }).remove.map((p) => p.id), ['y']);
  assert.deepEqual(applyRetention(tz, { keepDaily: 5 }, now).remove, []);
});

test('applyRetention: rejects bad points, now, offset and an empty policy', () => {
  const ok = [{ id: 'a', time: 1 }];
  assert.throws(() => applyRetention([{ id: 'a', time: 1 }, { id: 'a', time: 2 }], { keepLast: 1 }, 0), /"a".*unique/);
  assert.throws(() => applyRetention([{ id: 'a', time: NaN }], { keepLast: 1 }, 0), /"a".*got NaN/);
  assert.throws(() => applyRetention(ok, { keepLast: 1 }, Infinity), /now.*got Infinity/);
  assert.throws(() => applyRetention(ok, { keepLast: 1 }, 0, { timeZoneOffsetMinutes: 30.5 }), /timeZoneOffsetMinutes.*got 30.5/);
  assert.throws(() => applyRetention(ok, {}, 0), InvalidArgumentError);
});

test('safeguard reason is only used when every point would go', () => {
  const golden = JSON.parse(readFileSync(new URL('safeguard-within-expired.golden.json', dataDir), 'utf8'));
  assert.deepEqual(golden.keep, [{ id: '20260115-1100', reasons: [SAFEGUARD_REASON] }]);
  assert.equal(golden.remove.length, points.length - 1);
});

test('parseDuration', () => {
  const h = 3_600_000;
  const d = 24 * h;
  assert.equal(parseDuration('12h'), 12 * h);
  assert.equal(parseDuration('30d'), 30 * d);
  assert.equal(parseDuration('2w'), 14 * d);
  assert.equal(parseDuration('1y6m'), 365 * d + 180 * d);
  assert.equal(parseDuration('1m1y'), 395 * d);
  assert.equal(parseDuration('1y2m3w4d5h'), (365 + 60 + 21 + 4) * d + 5 * h);
  assert.equal(parseDuration('0d'), 0);
  for (const bad of ['', '30', 'd', '30D', '30 d', ' 30d', '1.5d', '-1d', '10min', '1d2d', '3x', '99999999999999y']) {
    assert.throws(() => parseDuration(bad), (error: Error) => {
      assert.ok(error instanceof InvalidArgumentError);
      assert.ok(error.message.includes(JSON.stringify(bad)), error.message);
      assert.match(error.message, /expected .*units y \(365d\), m \(30d\), w \(7d\), d, h/);
      return true;
    });
  }
});

test('parseRetentionPolicy accepts valid policies', () => {
  assert.deepEqual(parseRetentionPolicy({ keepDaily: 7, keepWithin: '1y6m' }), { keepDaily: 7, keepWithin: '1y6m' });
  assert.deepEqual(parseRetentionPolicy({ keepLast: 0, keepYearly: 1 }), { keepLast: 0, keepYearly: 1 });
});

test('parseRetentionPolicy names each bad field and value', () => {
  const message = (input: unknown, path?: string): string => {
    try {
      parseRetentionPolicy(input, path);
    } catch (error) {
      assert.ok(error instanceof InvalidArgumentError);
      return error.message;
    }
    assert.fail('expected an InvalidArgumentError');
  };
  assert.match(message({ keepDaily: -1 }), /retention\.keepDaily: expected a non-negative integer, got -1/);
  assert.match(message({ keepDaily: 1.5 }), /retention\.keepDaily: expected a non-negative integer, got 1\.5/);
  assert.match(message({ keepLast: '3' }), /retention\.keepLast: expected a non-negative integer, got "3"/);
  assert.match(message({ keepLast: null }), /retention\.keepLast: expected a non-negative integer, got null/);
  assert.match(message({ keepWithin: '30 days' }), /retention\.keepWithin: invalid duration "30 days": expected/);
  assert.match(message({ keepWithin: 30 }), /retention\.keepWithin: expected a duration string such as "30d", got 30/);
  assert.match(message({ keepDayly: 7 }), /retention\.keepDayly: unknown field; expected one of keepLast, .*keepWithin/);
  assert.match(message(5), /retention: expected an object, got 5/);
  assert.match(message({ keepWeekly: -4 }, 'jobs.web.retention'), /jobs\.web\.retention\.keepWeekly: .*got -4/);
  // Every problem is listed, not just the first.
  const both = message({ keepDaily: -1, keepMonthly: 'x' });
  assert.match(both, /keepDaily: .*got -1/);
  assert.match(both, /keepMonthly: .*got "x"/);
});

test('parseRetentionPolicy rejects a policy that keeps nothing', () => {
  for (const input of [{}, { keepLast: 0 }, { keepWithin: '0d', keepDaily: 0 }]) {
    assert.throws(() => parseRetentionPolicy(input), /retention: keeps nothing; set at least one of keepLast, .* above zero/);
  }
});
