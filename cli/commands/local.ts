// `cloudkeep local run`: the embedded default runs the same state machine as AWS, with local volumes, snapshots and workers.
import type { Command } from 'commander';
import { randomBytes, randomInt } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { InvalidArgumentError } from '../../core/errors.ts';
import { parsePolicy, type Policy } from '../../core/policy/policy-schema.ts';
import { formatBytes, parseSize } from '../../core/util/units.ts';
import { emit, type GlobalOptions } from '../context.ts';
import { LocalPlane } from '../local-plane.ts';

interface RunOptions {
  dir: string;
  policy?: string;
  size: string;
  force?: boolean;
  touch?: boolean;
}

async function readPolicyFile(file: string): Promise<Policy> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new InvalidArgumentError(`cannot read policy file ${JSON.stringify(file)}: ${(err as Error).message}`, { cause: err });
  }
  return parsePolicy(parseYaml(text) as unknown, file);
}

export function registerLocal(program: Command, globals: () => GlobalOptions): void {
  const local = program.command('local').description('the embedded default: run the backup state machine on this machine');
  local
    .command('run')
    .description('run a policy once through the backup state machine, with local volumes as ebs-volume resources')
    .option('--dir <dir>', 'working directory: volumes/, control/, schedules/, repo/ (kept between runs)', '.cloudkeep/local')
    .option('--policy <file>', 'policy file (YAML); default: a built-in demo policy backing up every local volume into <dir>/repo')
    .option('--size <size>', 'size of the demo volumes created when <dir> has none (demo policy only)', '64MiB')
    .option('--force', 'back up every volume, even when the policy schedule says none is due')
    .option('--touch', 'write 64 KiB of random data into each volume first, so the run has changes to back up')
    .action(async (o: RunOptions) => {
      const g0 = globals();
      const say = (line: string) => void (!g0.json && !g0.quiet && process.stdout.write(`${line}\n`));
      const plane = await LocalPlane.open(o.dir, g0, { say });
      const policy = o.policy ? await readPolicyFile(o.policy) : plane.demoPolicy();
      if (!policy.backup) say(`policy ${policy.id} has no backup section: snapshots only`);
      if (!o.policy) await plane.ensureDemoVolumes(parseSize(o.size, '--size'));
      if (o.touch) {
        for (const id of await plane.discovery.volumeIds()) {
          const { size } = await plane.volumes.describeVolume(id);
          const length = Math.min(64 * 1024, size);
          await plane.volumes.writeVolume(id, randomInt(0, size - length + 1), randomBytes(length));
        }
      }
      await plane.apply(policy);
      if (policy.backup) await plane.repository(policy.backup.repository);
      const result = await plane.run(policy.id, { account: policy.account.id, force: o.force });
      emit(plane.g, result, () => [
        `session ${result.sessionId}: ${result.status}${result.session?.message ? ` (${result.session.message})` : ''}`,
        ...result.tasks.map((t) => {
          const w = result.workers[t.resourceId];
          const backup = w ? `, ${w.stats.kind} restore point ${w.pointId}: ${formatBytes(w.stats.bytesRead)} read, ${formatBytes(w.stats.bytesStored)} stored` : ', no backup due';
          return `  ${t.resourceId}: ${t.status}${t.error ? ` (${t.error})` : ''}${backup}`;
        }),
      ].join('\n'));
    });
}
