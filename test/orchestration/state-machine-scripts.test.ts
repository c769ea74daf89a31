// Application-consistent runs of the CDK-synthesized state machine: real handlers, real EC2/SSM clients, the fake cloud speaking SSM's JSON 1.1.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parsePolicy } from '../../core/policy/policy-schema.ts';
import { startBackupMachine, type BackupMachine } from '../support/backup-machine.ts';

const MEMBER = '444455556666';
const PRE = 'fsfreeze -f /data';
const POST = 'fsfreeze -u /data';

const policy = parsePolicy({
  id: 'db-hosts', name: 'Database hosts', account: { provider: 'aws', id: MEMBER, roleArn: `arn:aws:iam::${MEMBER}:role/cloudkeep-member` }, regions: ['us-east-1', 'eu-west-1'],
  selection: { resourceTypes: ['ec2-instance'], tags: { backup: 'daily' } },
  snapshots: { schedule: 'rate(1 day)', timeZone: 'UTC', retention: { keepLast: 2 } },
  consistency: { application: { preScript: PRE, postScript: POST } },
}, 'test policy');

const vssPolicy = parsePolicy({ ...policy, id: 'windows-hosts', consistency: { application: { preScript: 'Write-Output pre', postScript: 'Write-Output post', windowsVss: true } } }, 'test policy');

let machine: BackupMachine;

before(async () => {
  machine = await startBackupMachine();
  // Read once by the composition root, on the first handler call.
  process.env.CLOUDKEEP_ENDPOINT_SSM = machine.aws.endpoint;
});

after(async () => {
  await machine?.stop();
});

/** Three tagged instances in two regions; i-cccc lacks the tag that lets Cloudkeep send it scripts. */
function resetCloud() {
  const c = machine.aws.cloud;
  const scripts = { 'cloudkeep:backup': 'app' };
  c.instances = [
    { id: 'i-aaaa', region: 'us-east-1', volumeIds: ['vol-a1', 'vol-a2'], tags: { backup: 'daily', ...scripts } },
    { id: 'i-bbbb', region: 'eu-west-1', volumeIds: ['vol-b1'], tags: { backup: 'daily', ...scripts } },
    { id: 'i-dddd', region: 'us-east-1', volumeIds: ['vol-d1'], tags: { backup: 'daily', ...scripts } },
  ];
  c.snapshots = [];
  c.calls.length = 0;
  c.commands.length = 0;
  c.timeline.length = 0;
  c.scriptOutcome = () => ({ status: 'Success' });
}

const timelineOf = (id: string) => machine.aws.cloud.timeline.filter((t) => t.includes(` ${id}`));

describe('backup state machine with pre/post scripts (SSM Run Command)', () => {
  it('runs pre-script, CreateSnapshots, post-script for each instance', async () => {
    resetCloud();
    const { output, tasks } = await machine.run('tenant-scripts', policy);
    assert.equal(output.status, 'succeeded');
    assert.deepEqual(tasks.map((t) => [t.resourceId, t.status]), [['i-aaaa', 'succeeded'], ['i-bbbb', 'succeeded'], ['i-dddd', 'succeeded']]);
    for (const id of ['i-aaaa', 'i-bbbb', 'i-dddd']) {
      assert.deepEqual(timelineOf(id), [`SendCommand ${id} ${PRE}`, `CreateSnapshots ${id}`, `SendCommand ${id} ${POST}`], id);
    }
    const { commands } = machine.aws.cloud;
    assert.equal(commands.length, 6);
    assert.ok(commands.every((c) => c.document === 'AWS-RunShellScript' && c.executionTimeout === '60' && c.comment?.includes(`session ${output.sessionId}`)), JSON.stringify(commands));
    assert.equal(machine.aws.cloud.snapshots.length, 4);
    assert.ok(machine.aws.cloud.calls.includes('ssm:SendCommand:eu-west-1') && machine.aws.cloud.calls.includes('ssm:GetCommandInvocation:us-east-1'));
  });

  it('a failing pre-script fails only its instance: no snapshot, the post-script still ran; an untagged instance fails clearly', async () => {
    resetCloud();
    const c = machine.aws.cloud;
    c.instances[2].tags = { backup: 'daily' };
    c.scriptOutcome = (id, script) => (id === 'i-bbbb' && script === PRE ? { status: 'Failed', stderr: 'fsfreeze: /data: Device or resource busy' } : { status: 'Success' });
    const { output, tasks, session } = await machine.run('tenant-scripts-fail', policy);
    assert.equal(output.status, 'partial');
    const byId = Object.fromEntries(tasks.map((t) => [t.resourceId, t]));
    assert.equal(byId['i-aaaa'].status, 'succeeded');
    assert.equal(byId['i-bbbb'].status, 'failed');
    assert.match(byId['i-bbbb'].error ?? '', /Cloudkeep\.Failed.*pre-script "fsfreeze -f \/data" on i-bbbb in eu-west-1 .* failed \(status Failed\); output: fsfreeze: \/data: Device or resource busy; no snapshot was taken/);
    assert.deepEqual(timelineOf('i-bbbb'), [`SendCommand i-bbbb ${PRE}`, `SendCommand i-bbbb ${POST}`]);
    assert.ok(!c.snapshots.some((s) => s.volumeId === 'vol-b1'));
    assert.equal(byId['i-dddd'].status, 'failed');
    assert.match(byId['i-dddd'].error ?? '', /instance i-dddd in us-east-1 lacks the tag cloudkeep:backup/);
    assert.deepEqual(timelineOf('i-dddd'), []);
    assert.deepEqual(timelineOf('i-aaaa'), [`SendCommand i-aaaa ${PRE}`, 'CreateSnapshots i-aaaa', `SendCommand i-aaaa ${POST}`]);
    assert.match(session?.message ?? '', /2 of 3 resource\(s\) failed/);
  });

  it('windowsVss: each instance snapshots itself through AWSEC2-CreateVssSnapshot between the scripts; no CreateSnapshots, and the run succeeds', async () => {
    resetCloud();
    const { output, tasks } = await machine.run('tenant-vss', vssPolicy);
    assert.equal(output.status, 'succeeded');
    assert.deepEqual(tasks.map((t) => [t.resourceId, t.status]), [['i-aaaa', 'succeeded'], ['i-bbbb', 'succeeded'], ['i-dddd', 'succeeded']]);
    for (const id of ['i-aaaa', 'i-bbbb', 'i-dddd']) {
      assert.deepEqual(timelineOf(id), [`SendCommand ${id} Write-Output pre`, `SendCommand ${id} AWSEC2-CreateVssSnapshot`, `SendCommand ${id} Write-Output post`], id);
    }
    const c = machine.aws.cloud;
    assert.ok(!c.calls.some((call) => call.startsWith('ec2:CreateSnapshots')), c.calls.join(', '));
    const vss = c.commands.filter((cmd) => cmd.document === 'AWSEC2-CreateVssSnapshot');
    assert.equal(vss.length, 3);
    assert.ok(vss.every((cmd) => cmd.parameters.ExcludeBootVolume?.[0] === 'False' && cmd.parameters.tags?.[0].includes(`Key=cloudkeep:session,Value=${output.sessionId}`)), JSON.stringify(vss));
    assert.ok(c.commands.filter((cmd) => cmd.document !== 'AWSEC2-CreateVssSnapshot').every((cmd) => cmd.document === 'AWS-RunPowerShellScript'));
    assert.deepEqual(c.snapshots.map((s) => s.volumeId).sort(), ['vol-a1', 'vol-a2', 'vol-b1', 'vol-d1']);
    assert.ok(c.snapshots.every((s) => s.tags.AppConsistent === 'true' && s.tags['cloudkeep:managed'] === 'true' && s.tags['cloudkeep:session'] === output.sessionId && s.state === 'completed'), JSON.stringify(c.snapshots));
  });
});
