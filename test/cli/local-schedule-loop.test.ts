// The local schedule loop on a fake clock: schedules written by the real apply path into a local scheduler
// directory; due ones fire once through the runner, disabled schedules and disabled policies never do.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LOCAL_TARGETS, applyLocalPolicy } from '../../cli/local-plane.ts';
import { demoPolicy } from '../../cli/local-run.ts';
import { LocalScheduleLoop, policySchedule, type TimerPort } from '../../cli/local-schedule-loop.ts';
import { asAccountId, asPolicyId } from '../../core/control/control-ids.ts';
import { parsePolicy } from '../../core/policy/policy-schema.ts';
import { LocalScheduler } from '../../providers/local/local-scheduler.ts';
import { MemoryControlStore } from '../../providers/memory/memory-control-store.ts';

const HOUR = 3_600_000;
const START = Date.UTC(2026, 0, 5, 1, 0); // 01:00 UTC

function policy(id: string, schedule: string, enabled = true) {
  const demo = demoPolicy('file:///srv/repo', id);
  return parsePolicy({ ...demo, ...(enabled ? {} : { enabled: false }), backup: { ...demo.backup!, schedule, timeZone: 'UTC' } }, id);
}

describe('local schedule loop', () => {
  let dir = '';
  let scheduler: LocalScheduler;
  const store = new MemoryControlStore();
  let now = START;
  const started: string[] = [];
  const lines: string[] = [];
  const armed: number[] = [];
  // Timers that record the delay asked for and keep the callback: the test runs it, or calls tick() itself.
  let armedFn: (() => void) | undefined;
  const timers: TimerPort = { set: (fn, ms) => ((armedFn = fn), armed.push(ms)), clear: () => (armedFn = undefined) };
  let loop: LocalScheduleLoop;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ck-schedule-loop-'));
    scheduler = new LocalScheduler(join(dir, 'schedules'));
    for (const p of [policy('nightly', '0 2 * * *'), policy('often', 'rate(2 hours)'), policy('off', '0 2 * * *', false), policy('quarter', '*/15 * * * *')]) await applyLocalPolicy(store, scheduler, p);
    // Disabled in the store only (as the console's Disable does); its schedule file stays ENABLED.
    const account = asAccountId('000000000000');
    const quarter = (await store.getPolicy(account, asPolicyId('quarter')))!;
    await store.putPolicy(account, { id: quarter.id, name: quarter.name, body: { ...quarter.body, enabled: false } }, quarter.version);
    const runner = { runScheduled: async (account: string, policyId: string) => (started.push(`${account}/${policyId}@${(now - START) / HOUR}h`), { sessionId: `s-${started.length}` }) };
    loop = new LocalScheduleLoop({ scheduler, groupName: LOCAL_TARGETS.groupName, store, runner, log: (l) => lines.push(l), now: () => now, timers, pollMs: 60_000 });
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  it('reads the stored EventBridge expressions as policy schedules', async () => {
    const specs = await scheduler.list(LOCAL_TARGETS.groupName);
    assert.deepEqual(specs.map((s) => [s.name, s.expression, s.state ?? 'ENABLED']), [
      ['cloudkeep-nightly-backup', 'cron(0 2 * * ? *)', 'ENABLED'],
      ['cloudkeep-off-backup', 'cron(0 2 * * ? *)', 'DISABLED'],
      ['cloudkeep-often-backup', 'rate(2 hours)', 'ENABLED'],
      ['cloudkeep-quarter-backup', 'cron(0/15 * * * ? *)', 'ENABLED'],
    ]);
    assert.equal(policySchedule('cron(0 2 * * ? *)'), '0 2 * * *');
    assert.equal(policySchedule('cron(0/15 * ? * MON-FRI *)'), '0-59/15 * * * MON-FRI');
    assert.equal(policySchedule('cron(0 2 * * ? 2027)'), undefined);
  });

  it('starts armed at once; nothing is due at the start; the next tick comes within the poll interval', async () => {
    loop.start();
    assert.deepEqual(armed, [0]);
    armedFn!();
    while (armed.length < 2) await new Promise((ok) => setImmediate(ok));
    assert.deepEqual(armed, [0, 60_000], 'the tick re-arms the timer');
    assert.equal(await loop.tick(), 60_000);
    assert.deepEqual(started, []);
  });

  it('fires the cron schedule once when its time comes, never the disabled schedule or policy', async () => {
    now = START + HOUR - 30_000; // 01:59:30
    assert.equal(await loop.tick(), 30_000, 'waits exactly until 02:00');
    now = START + HOUR; // 02:00
    await loop.tick();
    assert.deepEqual(started, ['000000000000/nightly@1h']);
    now += 20_000;
    await loop.tick();
    assert.deepEqual(started, ['000000000000/nightly@1h'], 'once per occurrence');
    assert.ok(lines.includes('schedule cloudkeep/cloudkeep-nightly-backup: started policy nightly (backup), session s-1'), lines.join('\n'));
    assert.ok(lines.some((l) => /cloudkeep-quarter-backup: policy quarter is disabled; not run/.test(l)), lines.join('\n'));
    assert.ok(!lines.some((l) => /cloudkeep-off-backup/.test(l)), 'a DISABLED schedule is not even considered');
  });

  it('fires the rate schedule every 2 hours from the start; a late tick fires a missed run once', async () => {
    now = START + 2 * HOUR;
    await loop.tick();
    assert.deepEqual(started.slice(1), ['000000000000/often@2h']);
    now = START + 9 * HOUR; // suspended for hours: 4, 6 and 8 h were missed, and the nightly is not due again
    await loop.tick();
    assert.deepEqual(started.slice(2), ['000000000000/often@9h']);
    now = START + 10 * HOUR;
    await loop.tick();
    assert.deepEqual(started.slice(3), [], 'the next rate run is 2 hours after the late one');
    now = START + 11 * HOUR;
    await loop.tick();
    assert.deepEqual(started.slice(3), ['000000000000/often@11h']);
  });

  it('stops: no more ticks are armed', async () => {
    await loop.stop();
    assert.equal(armedFn, undefined, 'the armed timer is cleared');
  });
});
