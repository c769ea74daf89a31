// `cloudkeep local run`: the embedded default runs the same state machine as AWS, with local volumes, snapshots and workers.
import type { Command } from 'commander';
import { randomBytes, randomInt } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { systemClock } from '../../core/clock.ts';
import { InvalidArgumentError, RepositoryNotFoundError } from '../../core/errors.ts';
import { parsePolicy, type Policy } from '../../core/policy/policy-schema.ts';
import { DEFAULT_PARAMS } from '../../core/repo/config.ts';
import { Repository } from '../../core/repo/repository.ts';
import { formatBytes, parseSize } from '../../core/util/units.ts';
import { FileControlStore } from '../../providers/local/file-control-store.ts';
import { generateImage } from '../../providers/local/image-generator.ts';
import { LocalDiscovery } from '../../providers/local/local-discovery.ts';
import { LocalSnapshotter } from '../../providers/local/local-snapshotter.ts';
import { LocalVolumeProvider } from '../../providers/local/local-volume-provider.ts';
import { LocalWorkerLauncher } from '../../providers/local/local-worker-launcher.ts';
import { ThreadBlockProcessor } from '../../worker-image/thread-block-processor.ts';
import { emit, keyProviders, type GlobalOptions } from '../context.ts';
import { openStore } from '../repo-url.ts';
import { demoPolicy, LOCAL_ACCOUNT, putLocalPolicy, runLocal, synthesizeDefinition } from '../local-run.ts';

interface RunOptions {
  dir: string;
  policy?: string;
  size: string;
  force?: boolean;
  touch?: boolean;
}

const DEMO_VOLUMES = ['vol-demo-1', 'vol-demo-2'];

async function readPolicyFile(file: string): Promise<Policy> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new InvalidArgumentError(`cannot read policy file ${JSON.stringify(file)}: ${(err as Error).message}`, { cause: err });
  }
  return parsePolicy(parseYaml(text) as unknown, file);
}

/** Opens the policy's repository; the demo's own repository is created on first use. */
async function openRepository(url: string, g: GlobalOptions, createIfMissing: boolean): Promise<Repository> {
  const store = await openStore(url);
  const providers = await keyProviders(g);
  try {
    return await Repository.open(store, providers, systemClock);
  } catch (err) {
    if (!(err instanceof RepositoryNotFoundError) || !createIfMissing) throw err;
    return Repository.init(store, providers[0], DEFAULT_PARAMS, systemClock);
  }
}

export function registerLocal(program: Command, globals: () => GlobalOptions): void {
  const local = program.command('local').description('the embedded default: run the backup state machine on this machine');
  local
    .command('run')
    .description('run a policy once through the backup state machine, with local volumes as ebs-volume resources')
    .option('--dir <dir>', 'working directory: volumes/, control/, repo/ (kept between runs)', '.cloudkeep/local')
    .option('--policy <file>', 'policy file (YAML); default: a built-in demo policy backing up every local volume into <dir>/repo')
    .option('--size <size>', 'size of the demo volumes created when <dir> has none (demo policy only)', '64MiB')
    .option('--force', 'back up every volume, even when the policy schedule says none is due')
    .option('--touch', 'write 64 KiB of random data into each volume first, so the run has changes to back up')
    .action(async (o: RunOptions) => {
      const g0 = globals();
      const say = (line: string) => void (!g0.json && !g0.quiet && process.stdout.write(`${line}\n`));
      const dir = resolve(o.dir);
      await mkdir(dir, { recursive: true });
      // Without a passphrase given, the demo keeps a generated one in <dir>/passphrase (like `cloudkeep demo`).
      const passFile = join(dir, 'passphrase');
      const ownPassphrase = !g0.passphraseFile && !process.env.CLOUDKEEP_PASSPHRASE;
      if (ownPassphrase && !existsSync(passFile)) await writeFile(passFile, `${randomBytes(18).toString('base64url')}\n`, { mode: 0o600 });
      const g: GlobalOptions = ownPassphrase ? { ...g0, passphraseFile: passFile } : g0;

      const policy = o.policy ? await readPolicyFile(o.policy) : demoPolicy(pathToFileURL(join(dir, 'repo')).href);
      if (!policy.backup) say(`policy ${policy.id} has no backup section: snapshots only`);
      const volumes = new LocalVolumeProvider({ root: join(dir, 'volumes') });
      const discovery = new LocalDiscovery(volumes);
      if (!o.policy && (await discovery.volumeIds()).length === 0) {
        const size = parseSize(o.size, '--size');
        for (const id of DEMO_VOLUMES) {
          await volumes.createVolume(id, size);
          await generateImage(volumes.volumePath(id), { size, seed: `cloudkeep-local-${id}` });
          say(`created volume ${id} (${formatBytes(size)})`);
        }
      }
      if (o.touch) {
        for (const id of await discovery.volumeIds()) {
          const { size } = await volumes.describeVolume(id);
          const length = Math.min(64 * 1024, size);
          await volumes.writeVolume(id, randomInt(0, size - length + 1), randomBytes(length));
        }
      }

      const store = new FileControlStore(join(dir, 'control'));
      await putLocalPolicy(store, LOCAL_ACCOUNT, policy);
      const repos = new Map<string, Promise<Repository>>();
      const open = (url: string) => {
        if (!repos.has(url)) repos.set(url, openRepository(url, g, !o.policy));
        return repos.get(url)!;
      };
      if (policy.backup) await open(policy.backup.repository);
      const threads = g.threads === undefined ? undefined : Number(g.threads);
      const launcher = new LocalWorkerLauncher({ source: volumes, openRepository: open, processor: (setup) => new ThreadBlockProcessor(setup, threads) });
      say('synthesizing the state machine definition...');
      const definition = await synthesizeDefinition();
      const result = await runLocal({ store, discovery, snapshotter: new LocalSnapshotter(volumes), launcher, definition, policyId: policy.id, force: o.force });
      emit(g, result, () => [
        `session ${result.sessionId}: ${result.status}${result.session?.message ? ` (${result.session.message})` : ''}`,
        ...result.tasks.map((t) => {
          const w = result.workers[t.resourceId];
          const backup = w ? `, ${w.stats.kind} restore point ${w.pointId}: ${formatBytes(w.stats.bytesRead)} read, ${formatBytes(w.stats.bytesStored)} stored` : ', no backup due';
          return `  ${t.resourceId}: ${t.status}${t.error ? ` (${t.error})` : ''}${backup}`;
        }),
      ].join('\n'));
    });
}
