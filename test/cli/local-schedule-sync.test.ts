// Policies saved through the local API's store get their local schedules: created, switched off with the
// policy, deleted with the section; a policy EventBridge cannot schedule stays saved and is logged.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LOCAL_TARGETS } from '../../cli/local-plane.ts';
import { demoPolicy } from '../../cli/local-run.ts';
import { withScheduleSync } from '../../cli/local-schedule-sync.ts';
import { asAccountId, asPolicyId } from '../../core/control/control-ids.ts';
import type { ControlStore, JsonObject } from '../../core/control/control-store.ts';
import { LocalScheduler } from '../../providers/local/local-scheduler.ts';
import { MemoryControlStore } from '../../providers/memory/memory-control-store.ts';

const ACCOUNT = asAccountId('000000000000');
const ID = asPolicyId('web');

describe('local schedule sync', () => {
  let dir = '';
  let scheduler: LocalScheduler;
  let store: ControlStore;
  const lines: string[] = [];
  const schedules = async () => (await scheduler.list(LOCAL_TARGETS.groupName)).map((s) => `${s.name} ${s.expression} ${s.state ?? 'ENABLED'}`);
  const put = async (body: Record<string, unknown>) => {
    const version = (await store.getPolicy(ACCOUNT, ID))?.version ?? 0;
    return store.putPolicy(ACCOUNT, { id: ID, name: 'Web', body: body as JsonObject }, version);
  };
  const base = () => JSON.parse(JSON.stringify(demoPolicy('file:///srv/repo', ID))) as Record<string, unknown> & { backup: Record<string, unknown> };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ck-schedule-sync-'));
    scheduler = new LocalScheduler(join(dir, 'schedules'));
    store = withScheduleSync(new MemoryControlStore(), scheduler, (l) => lines.push(l));
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  it('creates the schedule of a new policy and switches it off and on with the policy', async () => {
    const saved = await put({ ...base(), backup: { ...base().backup, schedule: '30 3 * * *' } });
    assert.equal(saved.version, 1);
    assert.deepEqual(await schedules(), ['cloudkeep-web-backup cron(30 3 * * ? *) ENABLED']);
    await put({ ...base(), enabled: false });
    assert.deepEqual(await schedules(), ['cloudkeep-web-backup rate(1 day) DISABLED']);
    await put(base());
    assert.deepEqual(await schedules(), ['cloudkeep-web-backup rate(1 day) ENABLED']);
  });

  it('follows the sections: snapshots added, backup removed', async () => {
    const { backup: _backup, ...rest } = base();
    await put({ ...rest, snapshots: { schedule: '0 */6 * * *', timeZone: 'UTC', retention: { keepLast: 4 } } });
    assert.deepEqual(await schedules(), ['cloudkeep-web-snapshots cron(0 0/6 * * ? *) ENABLED']);
    assert.deepEqual(lines, []);
  });

  it('keeps a policy whose schedule EventBridge cannot run, and says why its schedules were not updated', async () => {
    const saved = await put({ ...base(), backup: { ...base().backup, schedule: '0 2 1 * MON' } });
    assert.equal((await store.getPolicy(ACCOUNT, ID))!.version, saved.version);
    assert.equal(lines.length, 1);
    assert.match(lines[0], /^schedules of policy web not updated: .*restricts both day-of-month \(1\) and day-of-week \(MON\)/);
  });
});
