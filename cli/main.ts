// The `cloudkeep` command line: parses arguments, runs one command, maps errors to exit codes.
import { Command, CommanderError } from 'commander';
import type { GlobalOptions } from './context.ts';
import { describeError, exitCodeFor } from './errors.ts';
import { registerBackup } from './commands/backup.ts';
import { registerDemo } from './commands/demo.ts';
import { registerMaintenance } from './commands/maintenance.ts';
import { registerRepo } from './commands/repo.ts';
import { registerRestore } from './commands/restore.ts';
import { registerPolicy } from './commands/policy.ts';
import { registerServe } from './commands/serve.ts';
import { registerLocal } from './commands/local.ts';
import { registerStart } from './commands/start.ts';

export function buildProgram(): Command {
  const program = new Command('cloudkeep')
    .description('Cloudkeep: encrypted, compressed, deduplicated backup chains of disks in an open repository format')
    .version('0.1.0')
    .option('-r, --repo <url>', 'repository: a path or file:///path (env CLOUDKEEP_REPOSITORY)')
    .option('--passphrase-file <file>', 'file holding the repository passphrase (else env CLOUDKEEP_PASSPHRASE)')
    .option('--key <spec...>', 'keys to open the repository with: passphrase, aws-kms:<arn|alias>, azure-keyvault:<key-url> (env CLOUDKEEP_KEY; default passphrase)')
    .option('--json', 'print results as JSON for scripts')
    .option('-q, --quiet', 'print nothing but errors')
    .option('--threads <n>', 'worker threads for compression and encryption (default: all cores)')
    .option('--max-tasks <n>', 'backups and restores of the repository running at once in this process; more wait their turn')
    .option('--read-limit <MB/s>', 'total read rate from the repository, shared equally by the running tasks')
    .option('--write-limit <MB/s>', 'total write rate to the repository, shared equally by the running tasks')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  const globals = () => program.opts<GlobalOptions>();
  registerRepo(program, globals);
  registerBackup(program, globals);
  registerRestore(program, globals);
  registerMaintenance(program, globals);
  registerStart(program, globals);
  registerDemo(program, globals);
  registerPolicy(program, globals);
  registerServe(program, globals);
  registerLocal(program, globals);
  for (const c of program.commands) c.exitOverride();
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    process.stderr.write(`${describeError(err)}\n`);
    return exitCodeFor(err);
  }
}

if (import.meta.main) process.exitCode = await main(process.argv);
