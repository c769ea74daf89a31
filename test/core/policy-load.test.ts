// Policies as code: folder per account, unique ids, YAML errors with lines, and the shipped examples.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPolicies, parsePolicySources } from '../../core/policy/load-policies.ts';
import { PolicyValidationError } from '../../core/policy/policy-schema.ts';

const EXAMPLES = new URL('../../policies/', import.meta.url).pathname;
const WEB = join(EXAMPLES, '123456789012', 'web-servers.yaml');

describe('loadPolicies', () => {
  let dir = '';
  let webText = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ck-policies-'));
    webText = await readFile(WEB, 'utf8');
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  it('loads and validates the example policies', async () => {
    const loaded = await loadPolicies(EXAMPLES);
    assert.deepEqual(loaded.map((l) => l.policy.id).sort(), ['databases', 'web-servers']);
    const web = loaded.find((l) => l.policy.id === 'web-servers')!.policy;
    assert.deepEqual(web.selection.resourceTypes, ['ec2-instance']);
    assert.equal(web.snapshots?.schedule, '0 2 * * *');
    assert.equal(web.snapshots?.timeZone, 'Europe/Berlin');
    assert.equal(web.snapshots?.retention.keepLast, 7);
    assert.deepEqual(web.backup?.retention, { keepDaily: 7, keepWeekly: 4, keepMonthly: 12 });
    assert.match(web.backup!.repository, /^s3:\/\//);
    const dbs = loaded.find((l) => l.policy.id === 'databases')!.policy;
    assert.deepEqual(dbs.selection.resourceTypes, ['rds-instance', 'aurora-cluster']);
  });

  it('rejects a policy in the folder of another account', () => {
    const file = join('policies', '210987654321', 'web.yaml');
    assert.throws(() => parsePolicySources([{ file, text: webText }]), (err: unknown) => {
      assert.ok(err instanceof PolicyValidationError);
      assert.equal(err.problems.length, 1);
      assert.equal(err.problems[0].path, 'account.id');
      assert.match(err.message, /policies\/210987654321\/web\.yaml: account\.id: "123456789012" does not match the folder "210987654321"; expected .*policies\/123456789012\/web\.yaml/);
      return true;
    });
  });

  it('rejects a policy id used twice, naming both files', () => {
    const a = join('policies', '123456789012', 'a.yaml');
    const b = join('policies', '123456789012', 'b.yaml');
    assert.throws(() => parsePolicySources([{ file: a, text: webText }, { file: b, text: webText }]), (err: unknown) => {
      assert.ok(err instanceof PolicyValidationError);
      assert.equal(err.problems.length, 1);
      assert.match(err.message, /b\.yaml: id: "web-servers" is also the id of policies\/123456789012\/a\.yaml; expected each policy id once across .*a\.yaml and .*b\.yaml/);
      return true;
    });
  });

  it('lists every problem of every file, with the line of the field', async () => {
    const account = join(dir, 'bad', '123456789012');
    await mkdir(account, { recursive: true });
    await writeFile(join(account, 'one.yaml'), webText.replace('schedule: "0 3 * * 0"', 'schedule: "0 25 * * 0"'));
    await writeFile(join(account, 'two.yaml'), 'id: two\nname: [unclosed\n');
    await writeFile(join(dir, 'bad', 'loose.yaml'), webText);
    await assert.rejects(loadPolicies(join(dir, 'bad')), (err: unknown) => {
      assert.ok(err instanceof PolicyValidationError);
      const lines = err.problems.map((p) => `${p.file}:${p.line ?? '-'}: ${p.path}: ${p.message}`);
      assert.equal(lines.length, 3, lines.join('\n'));
      assert.match(lines[0], /loose\.yaml:-: : policy files belong in a folder named after their account/);
      const schedule = webText.split('\n').findIndex((l) => l.includes('"0 3 * * 0"')) + 1;
      assert.match(lines[1], new RegExp(`one\\.yaml:${schedule}: backup\\.schedule: "0 25 \\* \\* 0" is not a valid cron expression`));
      assert.match(lines[2], /two\.yaml:\d+: : invalid YAML/);
      return true;
    });
  });

  it('rejects a folder without policies or that does not exist', async () => {
    await mkdir(join(dir, 'empty'));
    await assert.rejects(loadPolicies(join(dir, 'empty')), /no policy files in .*expected .*<account-id>/);
    await assert.rejects(loadPolicies(join(dir, 'missing')), /cannot read policy folder/);
  });
});
