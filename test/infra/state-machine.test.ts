// The backup state machine in the control-plane template: JSONPath definition, worker task token, grants, import rules.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { buildCloudkeepApp } from '../../infra/cloudkeep-app.ts';
import { stateMachineDefinition } from '../support/state-machine-definition.ts';
import { actionsOf, iamStatements, testApp } from './cdk-test-app.ts';

const app = testApp();
buildCloudkeepApp(app, { memberTrust: { controlPlaneRoleArn: 'arn:aws:iam::111122223333:role/x', externalId: 'e'.repeat(16) } });
const json = app.synth().getStackByName('CloudkeepControlPlane').template;
const template = Template.fromJSON(json);
const definition = stateMachineDefinition(json) as { StartAt: string; States: Record<string, any>; QueryLanguage?: string };

describe('backup state machine', () => {
  it('is a JSONPath machine: LoadPolicy -> Discover -> Map -> RecordSession', () => {
    assert.equal(definition.QueryLanguage ?? 'JSONPath', 'JSONPath');
    assert.equal(definition.StartAt, 'LoadPolicy');
    assert.equal(definition.States.LoadPolicy.Next, 'SkipDisabledRun');
    // A scheduled run of a disabled policy (LoadPolicy's $.run.skipped) ends at once, successfully.
    const skip = definition.States.SkipDisabledRun;
    assert.equal(skip.Type, 'Choice');
    assert.deepEqual(skip.Choices, [{ Variable: '$.run.skipped', BooleanEquals: true, Next: 'RunSkipped' }]);
    assert.equal(definition.States.RunSkipped.Type, 'Succeed');
    assert.equal(skip.Default, 'Discover');
    const map = definition.States.ProtectResources;
    assert.equal(map.Type, 'Map');
    assert.equal(map.MaxConcurrencyPath, '$.run.maxConcurrency');
    assert.equal(map.ItemsPath, '$.discovery.items');
    assert.equal(map.Next, 'RecordSession');
    const item = map.ItemProcessor.States.ProtectResource;
    assert.equal(item.Type, 'Parallel');
    assert.deepEqual(item.Catch[0].ErrorEquals, ['States.ALL']);
    const worker = item.Branches[0].States.StartWorker;
    assert.match(worker.Resource, /:states:::lambda:invoke\.waitForTaskToken$/);
    assert.ok(worker.HeartbeatSeconds > 0 && worker.TimeoutSeconds > worker.HeartbeatSeconds);
    assert.equal(worker.Parameters.Payload['taskToken.$'], '$$.Task.Token');
    const waitForSlot = worker.Retry.find((r: { ErrorEquals: string[] }) => r.ErrorEquals.includes('Cloudkeep.WorkerSlotsBusy'));
    assert.ok(waitForSlot && waitForSlot.MaxAttempts >= 50 && waitForSlot.MaxDelaySeconds <= 600, 'a resource waits for a free worker slot of its account');
    assert.doesNotMatch(JSON.stringify(definition), /JSONata|"Assign"/);
  });

  it('logs everything, traces, and the scheduler role may start it', () => {
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineName: 'cloudkeep-backup',
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: Match.objectLike({ Level: 'ALL' }),
    });
    // The restore state machine's functions are counted in restore-state-machine.test.ts.
    assert.equal(Object.keys(template.findResources('AWS::Lambda::Function')).filter((id) => id.startsWith('Backup')).length, 8);
    template.hasResourceProperties('AWS::Lambda::Function', { Runtime: 'nodejs24.x', Environment: { Variables: Match.objectLike({ CLOUDKEEP_EXTERNAL_ID: 'e'.repeat(16) }) } });
    const statements = iamStatements(template, 'CloudkeepControlPlane');
    assert.ok(statements.some((s) => s.where.includes('SchedulerRole') && actionsOf(s).includes('states:StartExecution')));
    const assume = statements.filter((s) => actionsOf(s).includes('sts:AssumeRole'));
    assert.equal(assume.length, 1, 'only the shared orchestration role assumes the member role');
    assert.match(assume[0].where, /OrchestrationRole/);
  });

  it('the member-role handlers share one orchestration role, exported for the member-account trust', () => {
    const roleId = Object.keys(template.findResources('AWS::IAM::Role', { Properties: { RoleName: 'cloudkeep-orchestration' } }))[0];
    assert.ok(roleId, 'the orchestration role has a fixed name');
    const fns = template.findResources('AWS::Lambda::Function');
    const withShared = Object.entries(fns).filter(([id, f]) => id.startsWith('Backup') && JSON.stringify(f.Properties.Role).includes(roleId)).map(([id]) => id);
    for (const name of ['Discover', 'TakeSnapshots', 'CheckSnapshots', 'PruneSnapshots', 'CleanupWorker']) assert.ok(withShared.some((id) => id.includes(`${name}Function`)), name);
    assert.equal(withShared.length, 5, 'LoadPolicy, StartWorker and RecordSession keep their own roles');
    template.hasOutput('OrchestrationRoleArn', { Export: { Name: 'CloudkeepOrchestrationRoleArn' }, Value: { 'Fn::GetAtt': [roleId, 'Arn'] } });
    const statements = iamStatements(template, 'CloudkeepControlPlane');
    // Restore's statements (cloudkeep:restore tag) are checked in restore-state-machine.test.ts.
    const terminate = statements.filter((s) => actionsOf(s).includes('ec2:TerminateInstances') && !JSON.stringify(s).includes('cloudkeep:restore'));
    assert.equal(terminate.length, 1);
    assert.match(JSON.stringify(terminate[0]), /aws:ResourceTag\/cloudkeep:managed/);
    const run = statements.filter((s) => actionsOf(s).includes('ec2:RunInstances') && !s.where.includes('OrchestrationRole') && !s.where.includes('Restore'));
    assert.ok(run.length >= 1 && run.every((s) => s.where.includes('StartWorker')));
    assert.ok(run.some((s) => JSON.stringify(s).includes('aws:RequestTag/cloudkeep:managed')));
    assert.ok(statements.some((s) => s.where.includes('StartWorker') && actionsOf(s).includes('iam:PassRole') && JSON.stringify(s).includes('ec2.amazonaws.com')));
    template.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: Match.objectLike({ CLOUDKEEP_WORKER_LAUNCH_TEMPLATE: 'cloudkeep-worker', CLOUDKEEP_WORKER_KEY: Match.anyValue() }) } });
  });

  it('a failed or timed-out worker goes to CleanupWorker; snapshot checks are bounded; LoadPolicy/Discover failures end the run', () => {
    const branch = definition.States.ProtectResources.ItemProcessor.States.ProtectResource.Branches[0].States;
    const catcher = branch.StartWorker.Catch[0];
    assert.deepEqual(catcher.ErrorEquals, ['States.Timeout', 'States.HeartbeatTimeout', 'States.TaskFailed']);
    assert.equal(catcher.Next, 'CleanupWorker');
    assert.equal(branch.CleanupWorker.End, true);
    assert.equal(branch.TakeSnapshots.Next, 'InitSnapshotChecks');
    assert.equal(branch.CountSnapshotCheck.Parameters['count.$'], 'States.MathAdd($.checks.count, 1)');
    const limit = branch.SnapshotsComplete.Choices.find((c: { Variable: string }) => c.Variable === '$.checks.count');
    assert.equal(limit.NumericGreaterThanEquals, 120);
    assert.equal(branch[limit.Next].Type, 'Fail');
    assert.equal(branch[limit.Next].Error, 'Cloudkeep.SnapshotTimeout');
    assert.equal(definition.States.LoadPolicy.Catch[0].Next, 'RunFailed');
    assert.equal(definition.States.Discover.Catch[0].Next, 'FailSession');
    assert.equal(definition.States.FailSession.Next, 'RunFailed');
    assert.equal(definition.States.RunFailed.ErrorPath, '$.error.Error');
  });

  it('handlers never import aws-cdk-lib and infra never imports handler code', () => {
    const files = (dir: string): string[] => readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
    for (const f of files('functions')) assert.doesNotMatch(readFileSync(f, 'utf8'), /from 'aws-cdk-lib|from 'constructs'/, f);
    for (const f of files('infra')) assert.doesNotMatch(readFileSync(f, 'utf8'), /from '\.\.\/functions\//, f);
  });
});
