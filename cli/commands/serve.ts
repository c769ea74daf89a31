// `cloudkeep serve`: the API and the console on a local node:http server, with a file control store and bearer tokens.
import type { Command } from 'commander';
import { join, resolve } from 'node:path';
import { FileControlStore } from '../../providers/local/file-control-store.ts';
import { loadOrCreateTokenFile, TokenAuthenticator } from '../../functions/api/auth.ts';
import { startLocalServer } from '../../functions/api/local-server.ts';
import { LocalRestoreJobs } from '../../functions/api/restore-jobs.ts';
import { buildApi } from '../../functions/api/routes.ts';
import { consoleDir, consoleMissingNote } from '../console-dir.ts';
import { makeProcessor, openRepo, repoLocation, type GlobalOptions } from '../context.ts';

export function registerServe(program: Command, globals: () => GlobalOptions): void {
  program
    .command('serve')
    .description('serve the Cloudkeep API and console locally (file control store, repository from --repo, bearer tokens)')
    .option('--port <port>', 'TCP port (0: any free port)', '0')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--dir <dir>', 'server state: control store, tokens, restores', '.cloudkeep/serve')
    .option('--account <id...>', 'accounts the first token may access (when creating the token file)', [])
    .action(async (o: { port: string; host: string; dir: string; account: string[] }) => {
      const g = globals();
      const dir = resolve(o.dir);
      const { tokens, created } = await loadOrCreateTokenFile(join(dir, 'tokens.json'), 'local-admin', o.account);
      const store = new FileControlStore(join(dir, 'control'));
      const repo = repoLocation(g) ? await openRepo(g) : undefined;
      const log = (entry: Record<string, unknown>) => process.stderr.write(`${JSON.stringify(entry)}\n`);
      const restores = repo ? new LocalRestoreJobs(repo, join(dir, 'restores'), () => makeProcessor(repo, g), log) : undefined;
      const staticDir = consoleDir();
      const server = await startLocalServer(buildApi({ authenticator: new TokenAuthenticator(tokens), store, repo, restores, log }), Number(o.port), o.host, { staticDir });
      const out = (line: string) => process.stdout.write(`${line}\n`);
      out(`cloudkeep API listening on ${server.url}/api`);
      const note = consoleMissingNote(staticDir);
      if (note) out(note);
      if (created) {
        out(`bearer token (shown once, stored in ${join(dir, 'tokens.json')}): ${created}`);
        out(`console: ${server.url}/?token=${created}`);
      }
      await new Promise<void>((done) => {
        const stop = () => void server.close().then(done);
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    });
}
