// The restore state machine in the control-plane template: JSONPath definition, cleanup on every failure, stop/timeout rule, scoped EC2 grants.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { buildCloudkeepApp } from '../../infra/cloudkeep-app.ts';
import { stateMachineDefinition } from '../support/state-machine-definition.ts';
import { actionsOf, iamStatements, resourcesOf, testApp } from './cdk-test-app.ts';

const app = testApp();
buildCloudkeepApp(app, { memberTrust: { controlPlaneRoleArn: 'arn:aws:iam::111122223333:role/x', externalId: 'e'.repeat(16) } });
const json = app.synth().getStackByName('CloudkeepControlPlane').template;
const template = Template.fromJSON(json);
const definition = stateMachineDefinition(json, 'cloudkeep-restore') as { StartAt: string; States: Record<string, any>; QueryLanguage?: string };
const statements = iamStatements(template, 'CloudkeepControlPlane');

describe('restore state machine', () => {
  it('is JSONPath: StartRestore -> Restore (worker with task token, then mode) with every failure caught by RestoreCleanup', () => {
    assert.equal(definition.QueryLanguage ?? 'JSONPath', 'JSONPath');
    assert.doesNotMatch(JSON.stringify(definition), /JSONata|"Assign"/);
    assert.equal(definition.StartAt, 'StartRestore');
    assert.equal(definition.States.StartRestore.Parameters['restoreId.$'], '$$.Execution.Name');
    assert.equal(definition.States.StartRestore.Catch[0].Next, 'RestoreFailed', 'nothing exists yet: no cleanup');
    const restore = definition.States.Restore;
    assert.equal(restore.Type, 'Parallel');
    assert.deepEqual(restore.Catch[0], { ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'RestoreCleanup' });
    assert.equal(definition.States.RestoreCleanup.Next, 'RestoreFailed');
    assert.equal(definition.States.RestoreFailed.ErrorPath, '$.error.Error');
    const branch = restore.Branches[0].States;
    assert.match(branch.RestoreDisks.Resource, /:states:::lambda:invoke\.waitForTaskToken$/);
    assert.ok(branch.RestoreDisks.HeartbeatSeconds > 0 && branch.RestoreDisks.TimeoutSeconds > branch.RestoreDisks.HeartbeatSeconds);
    assert.equal(branch.RestoreDisks.Next, 'ReleaseRestoreSlot');
    assert.deepEqual([branch.ReleaseRestoreSlot.Parameters['restoreId.$'], branch.ReleaseRestoreSlot.Next], ['$$.Execution.Name', 'RestoreMode']);
    assert.deepEqual(branch.RestoreMode.Choices.map((c: { StringEquals?: string; Next: string }) => c.Next), ['CreateRestoredVolumes', 'CopyInstanceSnapshots', 'NoSnapshotCopies']);
    assert.deepEqual(branch.RestoreMode.Choices[1].And.map((c: { Variable: string }) => c.Variable), ['$.restore.mode', '$.restore.target.accountId']);
    const limit = branch.VolumesAvailable.Choices.find((c: { Variable: string }) => c.Variable === '$.checks.count');
    assert.equal(branch[limit.Next].Error, 'Cloudkeep.VolumeTimeout');
    // Copies into a member account: checked until completed, then the instance; bounded like the volumes.
    assert.deepEqual([branch.CheckSnapshotCopies.Next, branch.CopiesAvailable.Choices[0].Next, branch.NoSnapshotCopies.Next], ['CopiesAvailable', 'RunRestoredInstance', 'RunRestoredInstance']);
    assert.equal(branch.CopiesTimedOut.Error, 'Cloudkeep.CopyTimeout');
    assert.equal(branch.RunRestoredInstance.Parameters['copies.$'], '$.copies');
  });

  it('the worker waits for a free worker slot of the account, like a backup worker', () => {
    const retry = definition.States.Restore.Branches[0].States.RestoreDisks.Retry.find((r: { ErrorEquals: string[] }) => r.ErrorEquals.includes('Cloudkeep.WorkerSlotsBusy'));
    assert.deepEqual([retry.IntervalSeconds, retry.BackoffRate, retry.MaxDelaySeconds, retry.JitterStrategy, retry.MaxAttempts], [60, 1.5, 600, 'FULL', 80]);
  });

  it('a stopped or timed-out execution runs the same cleanup through EventBridge', () => {
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', { StateMachineName: 'cloudkeep-restore', TracingConfiguration: { Enabled: true }, LoggingConfiguration: Match.objectLike({ Level: 'ALL' }) });
    const [rule] = Object.values(template.findResources('AWS::Events::Rule')) as any[];
    assert.deepEqual(rule.Properties.EventPattern.detail.status, ['ABORTED', 'TIMED_OUT']);
    assert.match(JSON.stringify(rule.Properties.Targets[0].Arn), /RestoreCleanupFunction/);
    assert.match(rule.Properties.Targets[0].InputTransformer.InputTemplate, /"restoreId":<detail-name>/);
  });

  it('creates volumes, images and instances only with the cloudkeep:restore request tag, deletes only tagged ones, no "*" action', () => {
    const restoreStatements = statements.filter((s) => JSON.stringify(s).includes('cloudkeep:restore'));
    const creates = restoreStatements.filter((s) => actionsOf(s).some((a) => ['ec2:CreateVolume', 'ec2:RegisterImage', 'ec2:RunInstances'].includes(a)));
    assert.ok(creates.length >= 2 && creates.every((s) => JSON.stringify(s.Condition).includes('aws:RequestTag/cloudkeep:restore')));
    const deletes = statements.filter((s) => actionsOf(s).some((a) => ['ec2:DeleteVolume', 'ec2:DeregisterImage'].includes(a)));
    assert.ok(deletes.length === 1 && JSON.stringify(deletes[0].Condition).includes('aws:ResourceTag/cloudkeep:restore'));
    const snapshots = statements.filter((s) => actionsOf(s).includes('ec2:ModifySnapshotAttribute'));
    assert.ok(snapshots.length === 1 && JSON.stringify(snapshots[0].Condition).includes('aws:ResourceTag/cloudkeep:managed'));
    for (const s of statements.filter((x) => resourcesOf(x).includes('*'))) assert.ok(actionsOf(s).every((a) => !/^ec2:(Create|Run|Register|Delete|Modify|Terminate)/.test(a)), s.where);
    for (const s of statements) for (const a of actionsOf(s)) assert.doesNotMatch(a, /^\*$|:\*$/);
  });

  it('eight handlers: StartRestore, the worker launcher and the slot release with their own roles, the EC2 steps on the shared orchestration role', () => {
    const fns = Object.entries(template.findResources('AWS::Lambda::Function')).filter(([id]) => id.startsWith('Restore'));
    assert.equal(fns.length, 8);
    const roleId = Object.keys(template.findResources('AWS::IAM::Role', { Properties: { RoleName: 'cloudkeep-orchestration' } }))[0];
    const shared = fns.filter(([, f]) => JSON.stringify(f.Properties.Role).includes(roleId)).map(([id]) => id.replace(/^Restore|Function[0-9A-F]+$/g, '')).sort();
    assert.deepEqual(shared, ['CheckRestoredVolumes', 'CopyInstanceSnapshots', 'CreateRestoredVolumes', 'RestoreCleanup', 'RunRestoredInstance']);
    const launch = statements.filter((s) => s.where.includes('StartRestoreWorker') && actionsOf(s).includes('ec2:RunInstances'));
    assert.ok(launch.some((s) => JSON.stringify(s.Condition).includes('aws:RequestTag/cloudkeep:managed')));
  });
});
