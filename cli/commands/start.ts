// `cloudkeep start` (npm start): the embedded default end to end on one machine, then the API and the
// console on 127.0.0.1 until SIGINT/SIGTERM. `cloudkeep demo` is the same without the server.
import type { Command } from 'commander';
import { join, relative } from 'node:path';
import { InvalidArgumentError } from '../../core/errors.ts';
import type { Repository } from '../../core/repo/repository.ts';
import { parseSize } from '../../core/util/units.ts';
import { newToken, TokenAuthenticator } from '../../functions/api/auth.ts';
import { startLocalServer } from '../../functions/api/local-server.ts';
import { LocalRestoreJobs } from '../../functions/api/restore-jobs.ts';
import { buildApi } from '../../functions/api/routes.ts';
import { consoleDir, consoleMissingNote } from '../console-dir.ts';
import { emit, makeProcessor, type GlobalOptions } from '../context.ts';
import { CheckFailedError } from '../errors.ts';
import { FileVerifyHistory, LocalInventory, LocalPolicyRunner, LocalSnapshotCatalog } from '../local-api-adapters.ts';
import { demoSummary, runDemo } from '../local-demo.ts';
import { LOCAL_TARGETS, LocalPlane } from '../local-plane.ts';
import { LocalScheduleLoop } from '../local-schedule-loop.ts';
import { LOCAL_ACCOUNT } from '../local-run.ts';

export interface StartOptions {
  dir: string;
  size: string;
  fresh?: boolean;
  serve: boolean;
  port: string;
}

function parsePort(text: string): number {
  const port = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
  if (!(port >= 0 && port <= 65535)) throw new InvalidArgumentError(`--port ${JSON.stringify(text)}: expected 0 (any free port) to 65535`);
  return port;
}

export async function runStart(o: StartOptions, g0: GlobalOptions): Promise<void> {
  const port = parsePort(o.port);
  const size = parseSize(o.size, '--size');
  const say = (line: string) => void (!g0.json && !g0.quiet && process.stdout.write(`${line}\n`));
  const plane = await LocalPlane.open(o.dir, g0, { fresh: o.fresh, say });
  await plane.ensureDemoVolumes(size);
  const policy = plane.demoPolicy();
  await plane.apply(policy);
  const repo = await plane.repository(policy.backup!.repository);
  const ownPassphrase = plane.g.passphraseFile === join(plane.dir, 'passphrase');
  say(`repository ${repo.store.description} (AES-256-GCM, zstd${ownPassphrase ? `, passphrase in ${plane.g.passphraseFile}` : ''})`);
  say(`policy ${policy.id} applied to ${plane.store.description} with schedules in ${plane.scheduler.description}`);
  const result = await runDemo(plane, repo, say);
  await new FileVerifyHistory(plane.dir).record({ at: Date.now(), ok: result.verify.ok, problems: result.verify.problems });
  const shown = relative(process.cwd(), plane.dir) || '.';
  emit(plane.g, result, () => demoSummary(result, ownPassphrase ? join(shown, 'passphrase') : undefined, join(shown, 'repo')).join('\n'));
  if (!result.restore.identical || !result.verify.ok) throw new CheckFailedError('the demo restore did not match its snapshot or verify found problems');
  if (o.serve) await serve(plane, repo, port);
}

/** The API, the console and the local schedules on 127.0.0.1 until SIGINT/SIGTERM; then waits for running restores and runs. */
async function serve(plane: LocalPlane, repo: Repository, port: number): Promise<void> {
  const token = newToken();
  const log = (entry: Record<string, unknown>) => process.stderr.write(`${JSON.stringify(entry)}\n`);
  const restores = new LocalRestoreJobs(repo, join(plane.dir, 'restores'), () => makeProcessor(repo, plane.g), log);
  const runner = new LocalPolicyRunner(plane);
  const router = buildApi({
    authenticator: new TokenAuthenticator({ [token]: { principal: 'local-admin', accounts: [LOCAL_ACCOUNT] } }),
    store: plane.store,
    // Policies saved, enabled or disabled in the console get their local schedules, as `cloudkeep policy apply` makes them.
    schedules: { scheduler: plane.scheduler, targets: LOCAL_TARGETS },
    repo,
    restores,
    inventory: new LocalInventory(plane),
    runner,
    snapshots: new LocalSnapshotCatalog(plane),
    sessionLog: plane.sessionLog,
    verifyHistory: new FileVerifyHistory(plane.dir),
    log,
  });
  const staticDir = consoleDir();
  const server = await startLocalServer(router, port, '127.0.0.1', { staticDir });
  const out = (line: string) => process.stdout.write(`${line}\n`);
  out('');
  const note = consoleMissingNote(staticDir);
  if (note) out(note);
  out(`console: ${server.url}/?token=${token}`);
  out(`API: ${server.url}/api (authorization: Bearer ${token}), account ${LOCAL_ACCOUNT}; restores go to ${join(plane.dir, 'restores')}`);
  out('press Ctrl+C to stop');
  // The policies' schedules fire while this serves, through the runner the API's run now uses.
  const schedules = new LocalScheduleLoop({ scheduler: plane.scheduler, groupName: LOCAL_TARGETS.groupName, store: plane.store, runner, log: out });
  schedules.start();
  const signal = await new Promise<string>((done) => {
    process.once('SIGINT', () => done('SIGINT'));
    process.once('SIGTERM', () => done('SIGTERM'));
  });
  out(`${signal}: stopping; waiting for running restores and backup runs`);
  await schedules.stop();
  await server.close();
  await restores.idle();
  await plane.idle();
  out('stopped');
}

export function registerStart(program: Command, globals: () => GlobalOptions): void {
  program
    .command('start')
    .description('the embedded default: demo volumes backed up through the state machine (full, then incremental), a verified restore, then the API and console on 127.0.0.1')
    .option('--dir <dir>', 'working directory: volumes, control store, schedules, repository (kept between starts)', '.cloudkeep/local')
    .option('--fresh', 'recreate the working directory first')
    .option('--size <size>', 'size of each of the two demo volumes created when there are none', '256MiB')
    .option('--port <port>', 'port of the API and console on 127.0.0.1 (0: any free port)', '0')
    .option('--no-serve', 'exit after the demo instead of serving the API and console')
    .action((o: StartOptions) => runStart(o, globals()));
}
