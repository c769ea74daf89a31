// `cloudkeep policy validate|plan|apply` through a commander program, as the CLI will register it.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { registerPolicy } from '../../cli/commands/policy.ts';
import { exitCodeFor } from '../../cli/errors.ts';

const EXAMPLES = new URL('../../policies/', import.meta.url).pathname;

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

  it('apply says it is not available yet, exit code 2', async () => {
    const r = await run(['apply', EXAMPLES]);
    assert.equal(r.code, 2);
    assert.match(r.error!.message, /policy apply is not available yet/);
  });
});
