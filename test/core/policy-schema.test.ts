// Policy validation: every kind of bad value is rejected with a message naming the field and the value.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { InvalidArgumentError } from '../../core/errors.ts';
import { renderPolicyJsonSchema } from '../../core/policy/policy-json-schema.ts';
import { parsePolicy, PolicyValidationError, type Policy } from '../../core/policy/policy-schema.ts';

const WHERE = 'policies/123456789012/web.yaml';

function valid(): Record<string, any> {
  return {
    id: 'web',
    name: 'Web servers',
    account: { provider: 'aws', id: '123456789012', roleArn: 'arn:aws:iam::123456789012:role/Cloudkeep' },
    regions: ['eu-west-1'],
    selection: { resourceTypes: ['ec2-instance'], tags: { backup: 'daily' } },
    snapshots: { schedule: '0 2 * * *', timeZone: 'Europe/Berlin', retention: { keepLast: 7 } },
    backup: { schedule: 'rate(1 day)', timeZone: 'UTC', retention: { keepDaily: 7, keepWeekly: 4 }, repository: 's3://bucket/prefix' },
    worker: { instanceSize: [{ upToGiB: 100, type: 'c7i.large' }, { upToGiB: 1000, type: 'c7i.xlarge' }], subnets: { 'eu-west-1': ['subnet-0a1b2c3d'] }, spotAllowed: true },
    consistency: { application: { preScript: 'freeze', postScript: 'thaw', windowsVss: true } },
    tags: { 'created-by': 'cloudkeep' },
  };
}

/** The problems of `mutate(valid policy)`, as "path: message" lines. */
function problems(mutate: (p: Record<string, any>) => void): string[] {
  const input = valid();
  mutate(input);
  try {
    parsePolicy(input, WHERE);
  } catch (err) {
    assert.ok(err instanceof InvalidArgumentError);
    assert.ok(err instanceof PolicyValidationError);
    for (const p of err.problems) assert.equal(p.file, WHERE);
    assert.ok(err.message.includes(WHERE), 'the message names the file');
    return err.problems.map((p) => `${p.path}: ${p.message}`);
  }
  assert.fail('expected the policy to be rejected');
}

function rejects(mutate: (p: Record<string, any>) => void, expected: RegExp): void {
  const found = problems(mutate);
  assert.ok(found.some((line) => expected.test(line)), `expected a problem matching ${expected}, got:\n${found.join('\n')}`);
}

describe('parsePolicy', () => {
  it('accepts a full valid policy, AWS and Azure', () => {
    const policy: Policy = parsePolicy(valid(), WHERE);
    assert.equal(policy.id, 'web');
    const azure = valid();
    azure.account = { provider: 'azure', id: '0f8fad5b-d9cb-469f-a165-70867728950e' };
    azure.regions = ['westeurope'];
    azure.selection = { resourceTypes: ['azure-vm', 'azure-sql'] };
    azure.worker.subnets = { westeurope: ['/subscriptions/x/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v/subnets/s'] };
    azure.consistency = 'crash';
    assert.equal(parsePolicy(azure, WHERE).account.provider, 'azure');
  });

  it('names the file and field of a bad cron expression', () => {
    const input = valid();
    input.backup.schedule = '0 25 * * *';
    assert.throws(() => parsePolicy(input, WHERE), {
      message: `${WHERE}: backup.schedule: "0 25 * * *" is not a valid cron expression (minute hour day month weekday)`,
    });
    rejects((p) => (p.snapshots.schedule = '0 0 2 * * *'), /^snapshots\.schedule: "0 0 2 \* \* \*" is not a schedule; expected a 5-field cron/);
  });

  it('rejects bad rate expressions', () => {
    rejects((p) => (p.snapshots.schedule = 'rate(0 hours)'), /^snapshots\.schedule: "rate\(0 hours\)" is not a valid rate expression/);
    rejects((p) => (p.snapshots.schedule = 'rate(5 weeks)'), /^snapshots\.schedule: "rate\(5 weeks\)" is not a valid rate/);
    rejects((p) => (p.snapshots.schedule = 'rate(1 hours)'), /rate\(1 hour\)/);
    rejects((p) => (p.snapshots.schedule = 'rate(2 day)'), /rate\(2 days\)/);
  });

  it('rejects an unknown resource type and one of the other provider', () => {
    rejects((p) => (p.selection.resourceTypes = ['ec2-instance', 'lambda']), /^selection\.resourceTypes\[1\]: "lambda" is not a resource type \(ec2-instance/);
    rejects((p) => (p.selection.resourceTypes = ['azure-vm']), /^selection\.resourceTypes\[0\]: "azure-vm" is not a resource type of provider aws; expected one of ec2-instance/);
    rejects((p) => (p.selection.resourceTypes = []), /^selection\.resourceTypes: expected at least one/);
  });

  it('rejects negative retention and a retention that keeps nothing', () => {
    const found = problems((p) => (p.snapshots.retention = { keepLast: -1 }));
    assert.deepEqual(found, ['snapshots.retention.keepLast: expected a non-negative integer, got -1'], 'no extra "keeps nothing" noise');
    rejects((p) => (p.backup.retention = { keepDaily: 0 }), /^backup\.retention: keeps nothing/);
    rejects((p) => (p.backup.retention = { keepWithin: '30 days' }), /^backup\.retention\.keepWithin: invalid duration "30 days"/);
  });

  it('rejects unknown keys at the top level and nested, naming the accepted fields', () => {
    rejects((p) => (p.schedule = 'x'), /^schedule: unknown field; expected one of id, name, account/);
    rejects((p) => (p.selection.tag = {}), /^selection\.tag: unknown field; expected one of resourceTypes, tags/);
    rejects((p) => (p.backup.retention.keepForever = 1), /^backup\.retention\.keepForever: unknown field; expected one of keepLast/);
    rejects((p) => (p.worker.instanceSize[1].cpu = 2), /^worker\.instanceSize\[1\]\.cpu: unknown field/);
    rejects((p) => (p.consistency.application.freeze = true), /^consistency\.application\.freeze: unknown field; expected one of preScript, postScript, windowsVss/);
    rejects((p) => (p.account.subscription = 'x'), /^account\.subscription: unknown field/);
  });

  it('rejects bad time zones, including fixed offsets', () => {
    rejects((p) => (p.snapshots.timeZone = 'Europe/Berlinn'), /^snapshots\.timeZone: "Europe\/Berlinn" is not an IANA time zone/);
    rejects((p) => (p.backup.timeZone = '+01:00'), /^backup\.timeZone: "\+01:00" is not an IANA time zone/);
  });

  it('rejects a repository URL with an unknown scheme', () => {
    rejects((p) => (p.backup.repository = 'ftp://host/repo'), /^backup\.repository: "ftp:\/\/host\/repo" has unknown scheme "ftp:"; expected one of file:\/\/, s3:\/\/, azblob:\/\/, scaleout:/);
    rejects((p) => (p.backup.repository = '/var/backups'), /^backup\.repository: "\/var\/backups" is not a repository URL/);
  });

  it('checks account ids, role ARNs and regions per provider', () => {
    rejects((p) => (p.account.id = 123456789012), /^account\.id: expected a 12-digit AWS account id as a string, got 123456789012 \(quote it/);
    rejects((p) => (p.account.id = '12345'), /^account\.id: "12345" is not a 12-digit AWS account id/);
    rejects((p) => (p.account.roleArn = 'arn:aws:iam::999999999999:role/x'), /^account\.roleArn: .* is a role of account 999999999999; expected a role of the policy's account 123456789012/);
    rejects((p) => (p.account = { provider: 'azure', id: '123456789012' }), /^account\.id: "123456789012" is not an Azure subscription id/);
    rejects((p) => (p.account.provider = 'gcp'), /^account\.provider: expected provider "aws" or "azure", got "gcp"/);
    rejects((p) => (p.regions = ['westeurope']), /^regions\[0\]: "westeurope" is not an AWS region/);
    rejects((p) => (p.regions = []), /^regions: expected at least one region/);
  });

  it('checks the worker, consistency, ids and that the policy does something', () => {
    rejects((p) => p.worker.instanceSize.reverse(), /^worker\.instanceSize\[1\]\.upToGiB: 100 does not follow 1000/);
    rejects((p) => (p.worker.subnets = { 'us-east-1': ['subnet-0a1b2c3d'] }), /^worker\.subnets\.us-east-1: "us-east-1" is not one of the policy's regions/);
    rejects((p) => (p.worker.subnets['eu-west-1'] = ['sn-1']), /^worker\.subnets\.eu-west-1\[0\]: "sn-1" is not an AWS subnet id/);
    rejects((p) => (p.consistency = 'app'), /^consistency: expected "crash" or \{ application/);
    rejects((p) => delete p.consistency.application.postScript, /^consistency\.application\.postScript: expected a script, got nothing/);
    rejects((p) => ((p.selection.ids = ['i-1']), (p.selection.excludeIds = ['i-1'])), /^selection\.excludeIds\[0\]: "i-1" is also in selection\.ids/);
    rejects((p) => (delete p.snapshots, delete p.backup), /neither takes snapshots nor backs up/);
    rejects((p) => (p.id = 'Web Servers'), /^id: "Web Servers" is not a slug/);
  });

  it('reports every problem of a policy at once', () => {
    const found = problems((p) => {
      p.backup.schedule = '0 25 * * *';
      p.extra = 1;
      p.selection.resourceTypes = ['azure-disk'];
    });
    assert.equal(found.length, 3, found.join('\n'));
  });
});

describe('policies/schema.json', () => {
  const file = new URL('../../policies/schema.json', import.meta.url);
  it('is the JSON Schema generated from the zod schema (UPDATE=1 regenerates it)', async () => {
    const generated = renderPolicyJsonSchema();
    if (process.env.UPDATE) await writeFile(file, generated);
    assert.equal(await readFile(file, 'utf8'), generated, 'policies/schema.json is stale: run UPDATE=1 npx node --test test/core/policy-schema.test.ts');
    const schema = JSON.parse(generated);
    assert.equal(schema.additionalProperties, false);
    assert.ok(schema.required.includes('selection'));
  });
});
