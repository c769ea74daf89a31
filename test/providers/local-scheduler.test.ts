// LocalScheduler: schedules as JSON files per group; create/update/delete/list and name checks.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AbortedError } from '../../core/errors.ts';
import { SchedulerError, type ScheduleSpec } from '../../core/policy/scheduler-port.ts';
import { LocalScheduler } from '../../providers/local/local-scheduler.ts';

const spec = (name: string, extra: Partial<ScheduleSpec> = {}): ScheduleSpec => ({
  name,
  groupName: 'cloudkeep',
  expression: 'cron(0 2 * * ? *)',
  timeZone: 'Europe/Berlin',
  targetArn: 'arn:aws:states:eu-west-1:123456789012:stateMachine:cloudkeep-backup',
  roleArn: 'arn:aws:iam::123456789012:role/cloudkeep-scheduler',
  input: JSON.stringify({ policyId: 'web', account: '123456789012', run: 'snapshots' }),
  ...extra,
});

describe('LocalScheduler', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ck-local-scheduler-'));
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  it('lists nothing before anything is created', async () => {
    assert.deepEqual(await new LocalScheduler(join(dir, 'none')).list('cloudkeep'), []);
  });

  it('keeps each schedule as <group>/<name>.json; create, update, delete round-trip', async () => {
    const s = new LocalScheduler(join(dir, 'a'));
    await s.create(spec('cloudkeep-web-snapshots'));
    await s.create(spec('cloudkeep-db-backup', { expression: 'rate(6 hours)' }));
    await s.create(spec('cloudkeep-x-backup', { groupName: 'other' }));
    assert.deepEqual((await s.list('cloudkeep')).map((x) => x.name), ['cloudkeep-db-backup', 'cloudkeep-web-snapshots']);
    assert.deepEqual(JSON.parse(await readFile(join(dir, 'a', 'cloudkeep', 'cloudkeep-web-snapshots.json'), 'utf8')), spec('cloudkeep-web-snapshots'));
    await s.update(spec('cloudkeep-web-snapshots', { timeZone: 'UTC' }));
    assert.equal((await s.list('cloudkeep')).find((x) => x.name === 'cloudkeep-web-snapshots')?.timeZone, 'UTC');
    await s.delete('cloudkeep', 'cloudkeep-web-snapshots');
    await s.delete('cloudkeep', 'cloudkeep-web-snapshots');
    assert.deepEqual((await s.list('cloudkeep')).map((x) => x.name), ['cloudkeep-db-backup']);
    assert.deepEqual((await readdir(join(dir, 'a', 'cloudkeep'))).sort(), ['cloudkeep-db-backup.json'], 'no temp files left');
  });

  it('ignores files not named like its schedules', async () => {
    const s = new LocalScheduler(join(dir, 'b'));
    await s.create(spec('cloudkeep-web-backup'));
    await writeFile(join(dir, 'b', 'cloudkeep', 'notes.txt'), 'hi');
    await writeFile(join(dir, 'b', 'cloudkeep', 'manual.json'), '{}');
    assert.deepEqual((await s.list('cloudkeep')).map((x) => x.name), ['cloudkeep-web-backup']);
  });

  it('refuses names that are not EventBridge names (no path escapes), and aborted calls', async () => {
    const s = new LocalScheduler(join(dir, 'c'));
    await assert.rejects(s.create(spec('../evil')), SchedulerError);
    await assert.rejects(s.list('../x'), SchedulerError);
    await assert.rejects(s.create(spec('cloudkeep-a-backup'), { signal: AbortSignal.abort() }), AbortedError);
  });
});
