// Application-consistent snapshots: the use-case's order and failure handling, and the SSM adapter on the wire.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ScriptFailedError, SCRIPTS_TAG, snapshotResource } from '../../core/orchestration/app-consistency.ts';
import { CloudCallError } from '../../core/orchestration/errors.ts';
import { consistencyOf } from '../../core/orchestration/plan-run.ts';
import type { ScriptCommand, ScriptResult, ScriptRunner, SnapshotInfo, Snapshotter, VssSnapshotCommand } from '../../core/orchestration/ports.ts';
import type { ResourceItem } from '../../core/orchestration/run-types.ts';
import { parsePolicy } from '../../core/policy/policy-schema.ts';
import { SCRIPTS_TAG_KEY } from '../../infra/tags.ts';
import { AwsScriptRunner, vssTagString } from '../../providers/aws/aws-script-runner.ts';
import { startFakeAwsServer, type FakeAwsServer } from '../support/fake-aws-query-server.ts';

const PRE = 'fsfreeze -f /data';
const POST = 'fsfreeze -u /data';

function item(over: Partial<ResourceItem> = {}, tags: Record<string, string> = { [SCRIPTS_TAG]: 'yes' }): ResourceItem {
  return {
    run: { account: 'acct', policyId: 'web', sessionId: 'sess-1', roleArn: 'arn:aws:iam::444455556666:role/m' },
    resource: { type: 'ec2-instance', id: 'i-1', region: 'eu-west-1', tags, volumeIds: ['vol-1', 'vol-2'] },
    backupDue: false, tags: { 'cloudkeep:managed': 'true' },
    consistency: { preScript: PRE, postScript: POST, platform: 'linux' },
    ...over,
  };
}

/** In-memory script runner and snapshotter sharing one log of what happened, in order. */
function fakes(outcome: (script: string) => ScriptResult[] = () => [{ status: 'success' }], createFails = false) {
  const log: string[] = [];
  const sent: ScriptCommand[] = [];
  const vss: VssSnapshotCommand[] = [];
  const answers = new Map<string, ScriptResult[]>();
  const commandId = () => `cmd-${sent.length + vss.length}`;
  const scripts: ScriptRunner = {
    async send(c) {
      sent.push(c);
      log.push(`send ${c.script}`);
      answers.set(commandId(), outcome(c.script));
      return { commandId: commandId() };
    },
    async sendVssSnapshot(c) {
      vss.push(c);
      log.push('send VSS');
      answers.set(commandId(), outcome('VSS'));
      return { commandId: commandId() };
    },
    async result(_region, commandId) {
      const queue = answers.get(commandId) ?? [];
      return queue.length > 1 ? (queue.shift() as ScriptResult) : queue[0];
    },
  };
  const snap = (id: string): SnapshotInfo => ({ id, volumeId: `vol-${id}`, status: 'pending', startTime: 0, tags: {} });
  const snapshotter = {
    async create() {
      log.push('CreateSnapshots');
      if (createFails) throw new CloudCallError('CreateSnapshots (snapshot of i-1 in eu-west-1) failed: SnapshotCreationPerVolumeRateExceeded: slow down');
      return [snap('snap-1'), snap('snap-2')];
    },
    async list(target: unknown, tags: Record<string, string>) {
      log.push(`list ${JSON.stringify(target)} ${JSON.stringify(tags)}`);
      return [{ ...snap('snap-v1'), status: 'completed', tags }];
    },
  } as unknown as Snapshotter;
  let clock = 0;
  const wait = { now: () => clock, sleep: async (ms: number) => void (clock += ms) };
  return { log, sent, vss, scripts, snapshotter, wait, elapsed: () => clock };
}

describe('snapshotResource (application consistency)', () => {
  it('runs the pre-script, then one CreateSnapshots, then the post-script', async () => {
    const f = fakes((s) => (s === PRE ? [{ status: 'pending' }, { status: 'pending' }, { status: 'success' }] : [{ status: 'success' }]));
    const progress = await snapshotResource(f.snapshotter, f.scripts, item(), f.wait);
    assert.deepEqual(f.log, [`send ${PRE}`, 'CreateSnapshots', `send ${POST}`]);
    assert.deepEqual(progress.snapshotIds, ['snap-1', 'snap-2']);
    assert.equal(f.elapsed(), 4000, 'two 2 s polls while the pre-script ran');
    assert.deepEqual(f.sent.map((c) => [c.instanceId, c.region, c.platform, c.timeoutSeconds]), [['i-1', 'eu-west-1', 'linux', 60], ['i-1', 'eu-west-1', 'linux', 60]]);
    assert.match(f.sent[0].comment, /^Cloudkeep pre-script of session sess-1 \(policy web\)$/);
  });

  it('a failed pre-script takes no snapshot, still runs the post-script, and names the instance, status and output', async () => {
    const f = fakes((s) => [s === PRE ? { status: 'failed', detail: 'Failed', output: `fsfreeze: /data: Device or resource busy\n${'x'.repeat(400)}tail` } : { status: 'success' }]);
    await assert.rejects(snapshotResource(f.snapshotter, f.scripts, item(), f.wait), (err: Error) => {
      assert.ok(err instanceof ScriptFailedError && !err.retryable);
      assert.match(err.message, /^pre-script "fsfreeze -f \/data" on i-1 in eu-west-1 \(command cmd-1\) failed \(status Failed\); output: \.\.\.x+tail; no snapshot was taken$/);
      return true;
    });
    assert.deepEqual(f.log, [`send ${PRE}`, `send ${POST}`]);
  });

  it('a pre-script that never finishes times out after the wait; the post-script still runs', async () => {
    const f = fakes((s) => [s === PRE ? { status: 'pending', detail: 'InProgress' } : { status: 'success' }]);
    await assert.rejects(snapshotResource(f.snapshotter, f.scripts, item(), { ...f.wait, waitSeconds: 30, pollSeconds: 4 }),
      /^ScriptFailedError: pre-script "fsfreeze -f \/data" on i-1 in eu-west-1 \(command cmd-1\) did not finish within 30 s \(status InProgress\); no snapshot was taken$/);
    assert.equal(f.elapsed(), 30_000);
    assert.deepEqual(f.log, [`send ${PRE}`, `send ${POST}`]);
    assert.equal(f.sent[0].timeoutSeconds, 30, 'the script itself stops at the wait');
  });

  it('runs the post-script when CreateSnapshots fails and keeps the snapshot error (retryable as before)', async () => {
    const f = fakes(undefined, true);
    await assert.rejects(snapshotResource(f.snapshotter, f.scripts, item(), f.wait), (err: Error) => err instanceof CloudCallError && /SnapshotCreationPerVolumeRateExceeded/.test(err.message));
    assert.deepEqual(f.log, [`send ${PRE}`, 'CreateSnapshots', `send ${POST}`]);
  });

  it('a failed post-script fails the resource but keeps the snapshots, saying so', async () => {
    const f = fakes((s) => [s === POST ? { status: 'failed', detail: 'TimedOut' } : { status: 'success' }]);
    await assert.rejects(snapshotResource(f.snapshotter, f.scripts, item(), f.wait),
      /^ScriptFailedError: post-script "fsfreeze -u \/data" on i-1 in eu-west-1 \(command cmd-2\) failed \(status TimedOut\); the application may still be quiesced\. The snapshots \(snap-1, snap-2\) were taken after the pre-script and are kept$/);
    assert.deepEqual(f.log, [`send ${PRE}`, 'CreateSnapshots', `send ${POST}`]);
  });

  it('both scripts failing: one error naming both', async () => {
    const f = fakes(() => [{ status: 'failed', detail: 'Failed' }]);
    await assert.rejects(snapshotResource(f.snapshotter, f.scripts, item(), f.wait), /pre-script .* failed \(status Failed\); no snapshot was taken; the post-script also failed: post-script .* failed/);
  });

  it('windows instances get their scripts with the windows platform; other items need no scripts', async () => {
    const f = fakes();
    await snapshotResource(f.snapshotter, f.scripts, item({ consistency: { preScript: 'a', postScript: 'b', platform: 'windows' } }), f.wait);
    assert.deepEqual(f.sent.map((c) => c.platform), ['windows', 'windows']);
    const g = fakes();
    await snapshotResource(g.snapshotter, undefined, item({ consistency: undefined }), g.wait);
    await snapshotResource(g.snapshotter, undefined, item({ resource: { type: 'ebs-volume', id: 'vol-9', region: 'eu-west-1', tags: {}, volumeIds: ['vol-9'] } }), g.wait);
    assert.deepEqual(g.log, ['CreateSnapshots', 'CreateSnapshots']);
  });

  it('windowsVss: the VSS command replaces CreateSnapshots between the scripts, with the run tags; its snapshots are found by those tags', async () => {
    const f = fakes((s) => (s === 'VSS' ? [{ status: 'pending' }, { status: 'success' }] : s === 'a' ? [{ status: 'pending' }, { status: 'success' }] : [{ status: 'success' }]));
    const progress = await snapshotResource(f.snapshotter, f.scripts, item({ consistency: { preScript: 'a', postScript: 'b', platform: 'windows' } }), f.wait);
    const target = JSON.stringify({ type: 'ec2-instance', id: 'i-1', region: 'eu-west-1' });
    assert.deepEqual(f.log, ['send a', 'send VSS', `list ${target} {"cloudkeep:managed":"true"}`, 'send b']);
    assert.deepEqual(f.vss, [{ instanceId: 'i-1', region: 'eu-west-1', tags: { 'cloudkeep:managed': 'true' }, description: 'Cloudkeep web i-1', timeoutSeconds: 98, comment: 'Cloudkeep VSS snapshot of session sess-1 (policy web)' }]);
    assert.deepEqual(progress, { snapshotIds: ['snap-v1'], complete: true, volumes: [{ snapshotId: 'snap-v1', volumeId: 'vol-snap-v1' }] });
    assert.deepEqual(f.sent.map((c) => [c.script, c.platform]), [['a', 'windows'], ['b', 'windows']]);
  });

  it('windowsVss: a failed or unfinished VSS command fails the resource, names the command and still runs the post-script', async () => {
    const windows = item({ consistency: { preScript: 'a', postScript: 'b', platform: 'windows' } });
    const f = fakes((s) => [s === 'VSS' ? { status: 'failed', detail: 'Failed', output: 'Access denied: ec2:CreateSnapshots' } : { status: 'success' }]);
    await assert.rejects(snapshotResource(f.snapshotter, f.scripts, windows, f.wait),
      /^ScriptFailedError: VSS snapshot \(AWSEC2-CreateVssSnapshot\) of i-1 in eu-west-1 \(command cmd-2\) failed \(status Failed\); output: Access denied: ec2:CreateSnapshots; the instance's role needs ec2:CreateSnapshots, ec2:CreateTags and ec2:DescribeInstances, and the AWS VSS components$/);
    assert.deepEqual(f.log, ['send a', 'send VSS', 'send b']);
    const g = fakes((s) => [s === 'VSS' ? { status: 'pending', detail: 'InProgress' } : { status: 'success' }]);
    await assert.rejects(snapshotResource(g.snapshotter, g.scripts, windows, { ...g.wait, vssBudgetSeconds: 40 }), /VSS snapshot .* did not finish within 40 s \(status InProgress\); snapshots it still takes carry the run's tags/);
    assert.equal(g.elapsed(), 40_000);
    assert.deepEqual(g.log, ['send a', 'send VSS', 'send b']);
  });

  it('an instance without the scripts tag, or no script runner: a clear error, nothing sent, no snapshot', async () => {
    assert.equal(SCRIPTS_TAG, SCRIPTS_TAG_KEY, 'the tag the member role conditions SendCommand on');
    const f = fakes();
    await assert.rejects(snapshotResource(f.snapshotter, f.scripts, item({}, { Name: 'web' }), f.wait), /instance i-1 in eu-west-1 lacks the tag cloudkeep:backup .* No snapshot was taken/);
    await assert.rejects(snapshotResource(f.snapshotter, undefined, item(), f.wait), /policy web asks for application-consistent snapshots of i-1, but this mode runs no scripts/);
    assert.deepEqual(f.log, []);
  });

  it('plans the scripts onto instance items only (windowsVss: PowerShell)', () => {
    const base = { id: 'p', name: 'P', account: { provider: 'aws', id: '444455556666', roleArn: 'arn:aws:iam::444455556666:role/m' }, regions: ['eu-west-1'], selection: { resourceTypes: ['ec2-instance'] }, snapshots: { schedule: 'rate(1 day)', timeZone: 'UTC', retention: { keepLast: 1 } } };
    const app = parsePolicy({ ...base, consistency: { application: { preScript: PRE, postScript: POST, windowsVss: true } } }, 't');
    assert.deepEqual(consistencyOf(app, 'ec2-instance'), { preScript: PRE, postScript: POST, platform: 'windows' });
    assert.equal(consistencyOf(app, 'rds-instance'), undefined);
    assert.equal(consistencyOf(parsePolicy({ ...base, consistency: 'crash' }, 't'), 'ec2-instance'), undefined);
  });
});

describe('AwsScriptRunner (real SSM client, JSON 1.1 wire protocol)', () => {
  let aws: FakeAwsServer;
  let runner: AwsScriptRunner;
  const credentials = { accessKeyId: 'ASIA', secretAccessKey: 's', sessionToken: 't', expiration: Date.now() + 3_600_000 };
  const command = (over: Partial<ScriptCommand> = {}): ScriptCommand => ({ instanceId: 'i-1', region: 'eu-west-1', script: `${PRE}\nsync`, platform: 'linux', timeoutSeconds: 60, comment: 'Cloudkeep pre-script of session s-1', ...over });

  before(async () => {
    aws = await startFakeAwsServer({ instances: [{ id: 'i-1', region: 'eu-west-1', volumeIds: [], tags: { [SCRIPTS_TAG]: '' } }, { id: 'i-2', region: 'eu-west-1', volumeIds: [], tags: {} }] });
    runner = new AwsScriptRunner(credentials, { maxAttempts: 1 }, aws.endpoint);
  });
  after(() => aws?.stop());

  it('sends AWS-RunShellScript with the script, timeouts and comment; not-yet-existing invocations are pending', async () => {
    aws.cloud.scriptOutcome = () => ({ status: 'Success', stdout: 'frozen', unknownChecks: 1 });
    const { commandId } = await runner.send(command());
    const [sent] = aws.cloud.commands;
    assert.deepEqual([sent.id, sent.document, sent.script, sent.timeoutSeconds, sent.executionTimeout, sent.comment], [commandId, 'AWS-RunShellScript', `${PRE}\nsync`, 60, '60', 'Cloudkeep pre-script of session s-1']);
    assert.deepEqual(await runner.result('eu-west-1', commandId, 'i-1'), { status: 'pending', detail: 'InvocationDoesNotExist' });
    assert.deepEqual(await runner.result('eu-west-1', commandId, 'i-1'), { status: 'success', detail: 'Success', output: 'frozen' });
    assert.deepEqual(aws.cloud.calls, ['ssm:SendCommand:eu-west-1', 'ssm:GetCommandInvocation:eu-west-1', 'ssm:GetCommandInvocation:eu-west-1']);
  });

  it('maps failures, time-outs and running scripts; Windows gets AWS-RunPowerShellScript', async () => {
    const outcomes = { a: { status: 'Failed', stderr: 'busy', stdout: 'ignored' }, b: { status: 'TimedOut' }, c: { status: 'InProgress' } } as const;
    aws.cloud.scriptOutcome = (_id, script) => outcomes[script as keyof typeof outcomes];
    const results = [];
    for (const script of ['a', 'b', 'c']) {
      const { commandId } = await runner.send(command({ script, platform: 'windows', timeoutSeconds: 10 }));
      results.push(await runner.result('eu-west-1', commandId, 'i-1'));
    }
    assert.deepEqual(results, [{ status: 'failed', detail: 'Failed', output: 'busy' }, { status: 'failed', detail: 'TimedOut' }, { status: 'pending', detail: 'InProgress' }]);
    assert.deepEqual(aws.cloud.commands.slice(-3).map((c) => [c.document, c.timeoutSeconds, c.executionTimeout]), Array(3).fill(['AWS-RunPowerShellScript', 30, '10']));
  });

  it('sends AWSEC2-CreateVssSnapshot with the documented parameters; the instance snapshots its volumes with the tags', async () => {
    aws.cloud.scriptOutcome = () => ({ status: 'Success' });
    aws.cloud.instances[0].volumeIds = ['vol-1', 'vol-2'];
    const tags = { 'cloudkeep:managed': 'true', 'cloudkeep:session': 's-1' };
    const { commandId } = await runner.sendVssSnapshot({ instanceId: 'i-1', region: 'eu-west-1', tags, description: 'Cloudkeep web i-1', timeoutSeconds: 90, comment: 'Cloudkeep VSS snapshot of session s-1' });
    const sent = aws.cloud.commands.at(-1);
    assert.deepEqual([sent?.id, sent?.document, sent?.timeoutSeconds, sent?.parameters], [commandId, 'AWSEC2-CreateVssSnapshot', 90, {
      ExcludeBootVolume: ['False'], description: ['Cloudkeep web i-1'], tags: ['Key=cloudkeep:managed,Value=true;Key=cloudkeep:session,Value=s-1'], executionTimeout: ['90'],
    }]);
    assert.deepEqual(await runner.result('eu-west-1', commandId, 'i-1'), { status: 'success', detail: 'Success' });
    assert.deepEqual(aws.cloud.snapshots.map((s) => [s.volumeId, s.tags['cloudkeep:session'], s.tags.AppConsistent]), [['vol-1', 's-1', 'true'], ['vol-2', 's-1', 'true']]);
    assert.throws(() => vssTagString({ team: 'a;b' }), /snapshot tag "team"="a;b" cannot be passed to AWSEC2-CreateVssSnapshot; expected no ',' or ';'/);
    assert.throws(() => vssTagString({ Device: 'x' }), /snapshot tag "Device" is reserved by AWSEC2-CreateVssSnapshot/);
  });

  it('an instance without the scripts tag: SendCommand is denied, as a CloudCallError naming the call', async () => {
    await assert.rejects(runner.send(command({ instanceId: 'i-2' })), (err: Error) =>
      err instanceof CloudCallError && !err.retryable && /^SendCommand \(Cloudkeep pre-script of session s-1 on i-2 in eu-west-1\) failed: AccessDeniedException: .*no cloudkeep:backup tag/.test(err.message));
  });
});
