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
    assert.equal(definition.States.LoadPolicy.Next, 'Discover');
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
    assert.doesNotMatch(JSON.stringify(definition), /JSONata|"Assign"/);
  });

  it('logs everything, traces, and the scheduler role may start it', () => {
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineName: 'cloudkeep-backup',
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: Match.objectLike({ Level: 'ALL' }),
    });
    template.resourceCountIs('AWS::Lambda::Function', 7);
    template.hasResourceProperties('AWS::Lambda::Function', { Runtime: 'nodejs24.x', Environment: { Variables: Match.objectLike({ CLOUDKEEP_EXTERNAL_ID: 'e'.repeat(16) }) } });
    const statements = iamStatements(template, 'CloudkeepControlPlane');
    assert.ok(statements.some((s) => s.where.includes('SchedulerRole') && actionsOf(s).includes('states:StartExecution')));
    const assume = statements.filter((s) => actionsOf(s).includes('sts:AssumeRole'));
    assert.equal(assume.length, 4, 'Discover, TakeSnapshots, CheckSnapshots and PruneSnapshots assume the member role');
  });

  it('handlers never import aws-cdk-lib and infra never imports handler code', () => {
    const files = (dir: string): string[] => readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
    for (const f of files('functions')) assert.doesNotMatch(readFileSync(f, 'utf8'), /from 'aws-cdk-lib|from 'constructs'/, f);
    for (const f of files('infra')) assert.doesNotMatch(readFileSync(f, 'utf8'), /from '\.\.\/functions\//, f);
  });
});
