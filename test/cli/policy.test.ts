// `cloudkeep policy validate|plan|apply` through a commander program, as the CLI will register it.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { registerPolicy } from '../../cli/commands/policy.ts';
import { exitCodeFor } from '../../cli/errors.ts';
import { ConflictError } from '../../core/control/control-errors.ts';
import { asAccountId, asPolicyId } from '../../core/control/control-ids.ts';
import { computeApplyPlan, executeApply } from '../../core/policy/apply-execute.ts';
import { loadPolicies } from '../../core/policy/load-policies.ts';
import { FileControlStore } from '../../providers/local/file-control-store.ts';
import { LocalScheduler } from '../../providers/local/local-scheduler.ts';

const EXAMPLES = new URL('../../policies/', import.meta.url).pathname;
const ACCOUNT = '123456789012';
const SM = 'arn:aws:states:eu-west-1:123456789012:stateMachine:cloudkeep-backup';
const ROLE = 'arn:aws:iam::123456789012:role/cloudkeep-scheduler';

/** Runs `cloudkeep policy ...` in-process; returns stdout, the exit code main() would give, and the error. */
async function run(args: string[], json = true): Promise<{ code: number; stdout: string; error?: Error }> {
  const program = new Command().exitOverride();
  registerPolicy(program, () => ({ json }));
  for (const c of program.commands) c.exitOverride();
  let stdout = '';
  const write = process.stdout.write;
  // emit() writes strings; the test runner's own messages to its parent are buffers and pass through.
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
    if (typeof chunk !== 'string') return write.call(process.stdout, chunk, ...rest);
    stdout += chunk;
    return true;
  }) as typeof process.stdout.write;
  try {
    await program.parseAsync(['node', 'cloudkeep', 'policy', ...args]);
    return { code: 0, stdout };
  } catch (err) {
    return { code: exitCodeFor(err), stdout, error: err as Error };
  } finally {
    process.stdout.write = write;
  }
}

describe('cloudkeep policy', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ck-policy-cli-'));
    const inventory = [
      { provider: 'aws', account: '123456789012', region: 'eu-west-1', type: 'ec2-instance', id: 'i-web', tags: { backup: 'daily', tier: 'web' } },
      { provider: 'aws', account: '123456789012', region: 'eu-west-1', type: 'ec2-instance', id: 'i-nobody', tags: {} },
      { provider: 'aws', account: '123456789012', region: 'eu-central-1', type: 'rds-instance', id: 'db-1', tags: { environment: 'production' } },
    ];
    await writeFile(join(dir, 'inventory.json'), JSON.stringify(inventory));
    const bad = join(dir, 'bad', '123456789012');
    await mkdir(bad, { recursive: true });
    const web = await readFile(join(EXAMPLES, '123456789012', 'web-servers.yaml'), 'utf8');
    await writeFile(join(bad, 'web.yaml'), web.replace('timeZone: Europe/Berlin', 'timeZone: Europe/Berlim').replace('tier: web', 'tier: web\n    colour: blue\n    foo: 1'));
    await writeFile(join(bad, 'copy.yaml'), web);
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  it('validate accepts the example policies', async () => {
    const r = await run(['validate', EXAMPLES]);
    assert.equal(r.code, 0, r.error?.message);
    const out = JSON.parse(r.stdout);
    assert.equal(out.ok, true);
    assert.deepEqual(out.policies.map((p: { id: string }) => p.id), ['databases', 'web-servers']);
    const text = await run(['validate', EXAMPLES], false);
    assert.match(text.stdout, /^2 valid policies in /);
  });

  it('validate lists every problem with file and field, exit code 2', async () => {
    const r = await run(['validate', join(dir, 'bad')]);
    assert.equal(r.code, 2);
    const out = JSON.parse(r.stdout);
    assert.equal(out.ok, false);
    const lines = out.problems.map((p: { file: string; path: string; message: string }) => `${p.file}: ${p.path}: ${p.message}`);
    assert.equal(lines.length, 3, lines.join('\n'));
    assert.ok(lines.some((l: string) => /web\.yaml: snapshots\.timeZone: "Europe\/Berlim" is not an IANA time zone/.test(l)));
    assert.ok(lines.some((l: string) => /web\.yaml: selection\.tags\.foo: expected a string tag value, got 1/.test(l)));
    assert.ok(lines.some((l: string) => /web\.yaml: id: "web-servers" is also the id of .*copy\.yaml/.test(l)));
    assert.match(r.error!.message, /3 problems in policies:\n/);
  });

  it('plan prints selected resources, the next 3 runs and the unprotected resources', async () => {
    const args = ['plan', EXAMPLES, '--inventory', join(dir, 'inventory.json'), '--at', '2026-03-27T12:00:00Z'];
    const r = await run(args);
    assert.equal(r.code, 0, r.error?.message);
    const plan = JSON.parse(r.stdout);
    const web = plan.policies.find((p: { policyId: string }) => p.policyId === 'web-servers');
    assert.deepEqual(web.selected.map((x: { id: string }) => x.id), ['i-web']);
    assert.deepEqual(web.snapshots.next, ['2026-03-28T01:00:00.000Z', '2026-03-29T01:00:00.000Z', '2026-03-30T00:00:00.000Z']);
    assert.equal(web.backup.next.length, 3);
    const dbs = plan.policies.find((p: { policyId: string }) => p.policyId === 'databases');
    assert.deepEqual(dbs.selected.map((x: { id: string }) => x.id), ['db-1']);
    assert.deepEqual(plan.unprotected.map((x: { id: string }) => x.id), ['i-nobody']);
    const text = (await run(args, false)).stdout;
    assert.match(text, /policy web-servers .*: 1 resource\(s\)\n  - ec2-instance i-web/);
    assert.match(text, /2026-03-29 03:00 Europe\/Berlin \(2026-03-29 01:00Z\)/, '02:00 does not exist that day');
    assert.match(text, /unprotected: 1 resource\(s\)\n  - 123456789012 ec2-instance i-nobody/);
  });

  it('plan needs a readable inventory', async () => {
    const r = await run(['plan', EXAMPLES, '--inventory', join(dir, 'nope.json')]);
    assert.equal(r.code, 2);
    assert.match(r.error!.message, /cannot read --inventory/);
  });

  describe('apply (file control store + local scheduler)', () => {
    let policies = '';
    let control = '';
    let schedules = '';
    const apply = (extra: string[] = [], json = true) =>
      run(['apply', policies, '--control', `file:${control}`, '--scheduler', `local:${schedules}`, '--state-machine-arn', SM, '--role-arn', ROLE, '--group', 'cloudkeep', ...extra], json);
    const scheduleFile = (name: string) => join(schedules, 'cloudkeep', `${name}.json`);
    const actions = (out: { policies: { policyId: string; action: string }[]; schedules: { name: string; action: string }[] }) =>
      [...out.policies.map((p) => `${p.policyId}:${p.action}`), ...out.schedules.map((x) => `${x.name}:${x.action}`)];
    before(async () => {
      policies = join(dir, 'apply', 'policies');
      control = join(dir, 'apply', 'control');
      schedules = join(dir, 'apply', 'schedules');
      await cp(EXAMPLES, policies, { recursive: true });
    });

    it('--dry-run prints the plan and changes nothing', async () => {
      const r = await apply(['--dry-run'], false);
      assert.equal(r.code, 0, r.error?.message);
      assert.match(r.stdout, /policy 123456789012\/web-servers: create\n/);
      assert.match(r.stdout, /schedule cloudkeep\/cloudkeep-web-servers-snapshots: create cron\(0 2 \* \* \? \*\) Europe\/Berlin/);
      assert.match(r.stdout, /6 change\(s\)\ndry run: nothing changed$/m);
      assert.deepEqual(await new FileControlStore(control).listPolicies(asAccountId(ACCOUNT)), []);
      await assert.rejects(readFile(scheduleFile('cloudkeep-web-servers-snapshots')), { code: 'ENOENT' });
    });

    it('first apply creates policies and schedules; a second changes nothing and says so', async () => {
      const first = await apply();
      assert.equal(first.code, 0, first.error?.message);
      const out = JSON.parse(first.stdout);
      assert.equal(out.applied, 6);
      assert.deepEqual(actions(out), ['databases:create', 'web-servers:create', 'cloudkeep-databases-backup:create', 'cloudkeep-databases-snapshots:create', 'cloudkeep-web-servers-backup:create', 'cloudkeep-web-servers-snapshots:create']);
      const stored = await new FileControlStore(control).listPolicies(asAccountId(ACCOUNT));
      assert.deepEqual(stored.map((p) => `${p.id}@${p.version}`), ['databases@1', 'web-servers@1']);
      const snap = JSON.parse(await readFile(scheduleFile('cloudkeep-web-servers-backup'), 'utf8'));
      assert.equal(snap.expression, 'cron(0 3 ? * SUN *)');
      assert.equal(snap.timeZone, 'Europe/Berlin');
      assert.equal(snap.targetArn, SM);
      assert.equal(snap.roleArn, ROLE);
      assert.deepEqual(JSON.parse(snap.input), { policyId: 'web-servers', account: ACCOUNT, run: 'backup' });
      assert.equal(JSON.parse(await readFile(scheduleFile('cloudkeep-databases-snapshots'), 'utf8')).expression, 'rate(6 hours)');
      const second = await apply([], false);
      assert.equal(second.code, 0, second.error?.message);
      assert.match(second.stdout, /no changes: everything is applied already\n$/);
      assert.deepEqual((await new FileControlStore(control).listPolicies(asAccountId(ACCOUNT))).map((p) => p.version), [1, 1]);
    });

    it('editing a schedule updates the policy and that schedule only', async () => {
      const file = join(policies, ACCOUNT, 'web-servers.yaml');
      await writeFile(file, (await readFile(file, 'utf8')).replace('schedule: "0 2 * * *"', 'schedule: "15 4 * * 1-5"'));
      const r = await apply();
      assert.equal(r.code, 0, r.error?.message);
      const out = JSON.parse(r.stdout);
      assert.deepEqual(actions(out).filter((a) => !a.endsWith(':unchanged')), ['web-servers:update', 'cloudkeep-web-servers-snapshots:update']);
      assert.equal(JSON.parse(await readFile(scheduleFile('cloudkeep-web-servers-snapshots'), 'utf8')).expression, 'cron(15 4 ? * MON-FRI *)');
      assert.equal((await new FileControlStore(control).getPolicy(asAccountId(ACCOUNT), asPolicyId('web-servers')))?.version, 2);
      assert.equal(JSON.parse((await apply()).stdout).changes, 0);
    });

    it('removing a policy deletes it and its schedules', async () => {
      await rm(join(policies, ACCOUNT, 'databases.yaml'));
      const r = await apply();
      assert.equal(r.code, 0, r.error?.message);
      assert.deepEqual(actions(JSON.parse(r.stdout)).filter((a) => !a.endsWith(':unchanged')), ['databases:delete', 'cloudkeep-databases-backup:delete', 'cloudkeep-databases-snapshots:delete']);
      assert.deepEqual((await new FileControlStore(control).listPolicies(asAccountId(ACCOUNT))).map((p) => p.id), ['web-servers']);
      assert.deepEqual((await new LocalScheduler(schedules).list('cloudkeep')).map((x) => x.name), ['cloudkeep-web-servers-backup', 'cloudkeep-web-servers-snapshots']);
    });

    it('a policy changed by someone else meanwhile is a conflict, not an overwrite', async () => {
      const store = new FileControlStore(control);
      const scheduler = new LocalScheduler(schedules);
      const onDisk = (await loadPolicies(policies)).map((l) => ({ ...l.policy, name: 'Renamed' }));
      const plan = await computeApplyPlan(onDisk, store, scheduler, { stateMachineArn: SM, roleArn: ROLE, groupName: 'cloudkeep' });
      const current = await store.getPolicy(asAccountId(ACCOUNT), asPolicyId('web-servers'));
      await store.putPolicy(asAccountId(ACCOUNT), { id: asPolicyId('web-servers'), name: 'Other', body: current!.body }, current!.version);
      await assert.rejects(executeApply(plan, store, scheduler), (e: Error) => e instanceof ConflictError && /policy 123456789012\/web-servers .*changed since this apply read it \(it was at version 2\)/.test(e.message));
    });

    it('refuses unknown --control and --scheduler forms and EventBridge-incompatible schedules, exit code 2', async () => {
      const bad = await run(['apply', policies, '--control', 'mysql:x', '--scheduler', 'aws', '--state-machine-arn', SM, '--role-arn', ROLE]);
      assert.equal(bad.code, 2);
      assert.match(bad.error!.message, /--control "mysql:x": expected file:<dir> or dynamodb:<table>/);
      const file = join(policies, ACCOUNT, 'web-servers.yaml');
      await writeFile(file, (await readFile(file, 'utf8')).replace('schedule: "0 3 * * 0"', 'schedule: "0 3 1 * 0"'));
      const r = await apply();
      assert.equal(r.code, 2);
      assert.match(r.error!.message, /policy "web-servers" backup\.schedule: "0 3 1 \* 0" cannot run on EventBridge Scheduler: it restricts both day-of-month/);
    });
  });
});
