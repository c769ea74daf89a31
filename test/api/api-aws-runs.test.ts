// Run now and the inventory in AWS: the backup state machine started with a session the API opened (real SFN client
// against the Step Functions test server), and resources/snapshots discovered through the member role (fake EC2/STS).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { asAccountId, asPolicyId, asSessionId } from '../../core/control/control-ids.ts';
import type { JsonObject } from '../../core/control/control-store.ts';
import { beginRunUnlessDisabled } from '../../core/orchestration/run-steps.ts';
import { AwsInventory } from '../../functions/api/aws-inventory.ts';
import { SfnPolicyRunner } from '../../functions/api/aws-policy-runner.ts';
import type { AwsAdapterOptions } from '../../providers/aws/aws-call.ts';
import { AwsDiscovery } from '../../providers/aws/aws-discovery.ts';
import { AwsRoleAssumer } from '../../providers/aws/aws-role-assumer.ts';
import { AwsSnapshotter } from '../../providers/aws/aws-snapshotter.ts';
import { startFakeAwsServer, type FakeAwsServer } from '../support/fake-aws-query-server.ts';
import { SfnTestServer } from '../support/sfn-test-server.ts';
import { A, assertError, B, startApi, TOKEN_B, type Api } from './api-fixture.ts';
import { volumePolicy } from './fakes.ts';

const BACKUP = 'arn:aws:states:eu-west-1:111122223333:stateMachine:cloudkeep-backup';
const EXTERNAL_ID = 'external-id-0123456789';
const ROLE = `arn:aws:iam::${A}:role/CloudkeepBackup`;

let sfn: SfnTestServer;
let aws: FakeAwsServer;
let api: Api;

before(async () => {
  process.env.AWS_ACCESS_KEY_ID ??= 'test';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'test';
  [sfn, aws] = await Promise.all([SfnTestServer.start(), startFakeAwsServer()]);
  const options: AwsAdapterOptions = { endpoints: { ec2: aws.endpoint, rds: aws.endpoint, sts: aws.endpoint }, maxAttempts: 1 };
  const roles = new AwsRoleAssumer({ ...options, region: 'eu-west-1', externalId: EXTERNAL_ID });
  const member = async (roleArn: string, sessionName: string) => {
    const credentials = await roles.assume(roleArn, sessionName);
    return { discovery: new AwsDiscovery(credentials, options), snapshotter: new AwsSnapshotter(credentials, options) };
  };
  api = await startApi({
    deps: (store) => {
      const inventory = new AwsInventory({ store, member, cacheMs: 0 });
      return { runner: new SfnPolicyRunner({ sfn: sfn.client(), stateMachineArn: BACKUP, store }), inventory, snapshots: inventory };
    },
  });
  const put = (id: string, body: Record<string, unknown>) => api.store.putPolicy(asAccountId(A), { id: asPolicyId(id), name: id, body: body as JsonObject }, 0);
  await put('volumes', volumePolicy(A, { enabled: false }));
  await put('east', volumePolicy(A, { id: 'east', regions: ['us-east-1', 'eu-west-1'] }));
  aws.cloud.instances = [{ id: 'i-east', region: 'us-east-1', volumeIds: ['vol-e1'], tags: { Name: 'east-1' } }];
  aws.cloud.volumes = [{ id: 'vol-west', region: 'eu-west-1', tags: { backup: 'daily' }, sizeGiB: 8 }];
  const snap = (id: string, resource: string, startTime: number) => ({ id, region: 'eu-west-1', volumeId: 'vol-west', state: 'completed' as const, startTime, tags: { 'cloudkeep:managed': 'true', 'cloudkeep:resource': resource }, checks: 0 });
  aws.cloud.snapshots = [snap('snap-2', 'vol-west', 2_000_000), snap('snap-1', 'vol-west', 1_000_000), snap('snap-other', 'vol-other', 1_500_000)];
});

after(async () => {
  await api?.close();
  await Promise.all([sfn?.close(), aws?.stop()]);
});

describe('run now in AWS', () => {
  it('opens the session, starts the backup state machine with it, and answers its id; LoadPolicy takes it over even for a disabled policy', async () => {
    const res = await api.call('POST', `/accounts/${A}/policies/volumes/run`);
    assert.equal(res.status, 202, JSON.stringify(res.json));
    const { sessionId } = res.json;
    const session = await api.store.getSession(asAccountId(A), asSessionId(sessionId));
    assert.equal(session?.status, 'running');
    assert.equal(session?.policyId, 'volumes');
    const execution = sfn.executions.get(`${BACKUP.replace(':stateMachine:', ':execution:')}:run-${sessionId}`);
    assert.ok(execution, 'the execution is named after the session');
    const input = JSON.parse(execution.input) as { account: string; policyId: string; sessionId?: string };
    assert.deepEqual(input, { account: A, policyId: 'volumes', sessionId });
    // What LoadPolicy does with that input: no second session, the disabled policy runs.
    const run = await beginRunUnlessDisabled(api.store, input.account, input.policyId, 4, input.sessionId);
    assert.equal(run.skipped, false);
    assert.equal(run.skipped === false && run.sessionId, sessionId);
    assert.equal((await api.store.listSessions(asAccountId(A), { limit: 10, policyId: asPolicyId('volumes') })).sessions.length, 1);
    // A schedule's input (no session) of the same disabled policy is skipped, recording nothing.
    assert.equal((await beginRunUnlessDisabled(api.store, A, 'volumes')).skipped, true);
    assert.equal((await api.store.listSessions(asAccountId(A), { limit: 10, policyId: asPolicyId('volumes') })).sessions.length, 1);
  });

  it('a session that does not fit the run is refused with a clear error', async () => {
    const east = await api.store.createSession(asAccountId(A), asPolicyId('east'));
    await assert.rejects(beginRunUnlessDisabled(api.store, A, 'volumes', 4, east.id), new RegExp(`sessionId ${east.id} belongs to policy east, not volumes`));
    await assert.rejects(beginRunUnlessDisabled(api.store, A, 'volumes', 4, '0000000aa-0000000000000000'), /no such session in account/);
  });

  it('a start that fails closes the session failed; capabilities say run now and planning', async () => {
    const broken = await startApi({ deps: (store) => ({ runner: new SfnPolicyRunner({ sfn: sfn.client(), stateMachineArn: 'arn:aws:states:eu-west-1:111122223333:stateMachine:bad name', store }) }) });
    try {
      await broken.store.putPolicy(asAccountId(A), { id: asPolicyId('volumes'), name: 'v', body: volumePolicy(A) as JsonObject }, 0);
      assertError(await broken.call('POST', `/accounts/${A}/policies/volumes/run`), 500);
      const [session] = (await broken.store.listSessions(asAccountId(A), { limit: 1 })).sessions;
      assert.equal(session.status, 'failed');
      assert.match(session.message ?? '', /the run could not be started: InvalidArn/);
    } finally {
      await broken.close();
    }
    const caps = await api.call('GET', '/capabilities');
    assert.equal(caps.json.runNow, true);
    assert.equal(caps.json.planning, true);
  });
});

describe('inventory in AWS', () => {
  it("discovers every region of the account's policies through the read-only role next to their member role, with the ExternalId", async () => {
    aws.cloud.assumedRoles.length = 0;
    const res = await api.call('GET', `/accounts/${A}/resources`);
    assert.equal(res.status, 200, JSON.stringify(res.json));
    const found = (res.json.resources as Array<{ id: string; region: string; type: string; account: string; policies: string[] }>).map((r) => [r.id, r.region, r.type, r.account, r.policies]);
    assert.deepEqual(found.sort(), [
      ['i-east', 'us-east-1', 'ec2-instance', A, []],
      ['vol-e1', 'us-east-1', 'ebs-volume', A, []],
      ['vol-west', 'eu-west-1', 'ebs-volume', A, ['east']],
    ]);
    assert.ok(aws.cloud.assumedRoles.length > 0 && aws.cloud.assumedRoles.every((r) => r.roleArn === `${ROLE}-read` && r.externalId === EXTERNAL_ID), JSON.stringify(aws.cloud.assumedRoles));
    assert.deepEqual((await api.call('GET', `/accounts/${B}/resources`, { token: TOKEN_B })).json.resources, [], 'no policies, no member role: nothing');
  });

  it("a resource's timeline lists Cloudkeep's snapshots of it, oldest first", async () => {
    const res = await api.call('GET', `/accounts/${A}/resources/vol-west/timeline`);
    assert.equal(res.status, 200, JSON.stringify(res.json));
    assert.deepEqual(res.json.snapshots.map((s: { id: string; status: string }) => [s.id, s.status]), [['snap-1', 'completed'], ['snap-2', 'completed']]);
  });
});
