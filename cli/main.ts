// The `cloudkeep` command line: parses arguments, runs one command, maps errors to exit codes.
import { Command, CommanderError } from 'commander';
import { setFlagsFromString } from 'node:v8';
import type { GlobalOptions } from './context.ts';
import { describeError, exitCodeFor } from './errors.ts';
import { prefetchKey } from './key-prefetch.ts';
type Register = (program: Command, globals: () => GlobalOptions) => void;

// The young generation keeps its first size instead of doubling whenever many objects survive a
// scavenge (V8's default grows it to 3 x 16 MiB): a backup's chunk records survive in bulk, and the
// grown space stayed committed. Measured on the 4 GiB benchmark: full backup peak RSS 345-350 ->
// 286 MiB, verify ~290 -> ~265 MiB, same wall time. A V8 flag read each time the space would grow,
// so setting it here, before the work starts, takes effect (for worker threads too).
setFlagsFromString('--semi-space-growth-factor=1');

/**
 * Each command module, loaded on demand: a run of one command imports only its module (the others
 * cost ~0.1 s of start-up and ~14 MiB). Listed in the order `--help` shows them.
 */
const COMMANDS: Array<{ names: string[]; load: () => Promise<Register> }> = [
  { names: ['repo'], load: async () => (await import('./commands/repo.ts')).registerRepo },
  { names: ['backup'], load: async () => (await import('./commands/backup.ts')).registerBackup },
  { names: ['restore', 'points'], load: async () => (await import('./commands/restore.ts')).registerRestore },
  { names: ['forget', 'prune'], load: async () => (await import('./commands/maintenance.ts')).registerMaintenance },
  { names: ['start'], load: async () => (await import('./commands/start.ts')).registerStart },
  { names: ['demo'], load: async () => (await import('./commands/demo.ts')).registerDemo },
  { names: ['policy'], load: async () => (await import('./commands/policy.ts')).registerPolicy },
  { names: ['serve'], load: async () => (await import('./commands/serve.ts')).registerServe },
  { names: ['local'], load: async () => (await import('./commands/local.ts')).registerLocal },
];

/** Global options that take one value (see buildProgram). */
const VALUE_OPTIONS = new Set(['-r', '--repo', '--passphrase-file', '--threads', '--max-tasks', '--read-limit', '--write-limit']);

/**
 * The command argv names, or null when that is not plain (help, version, an unknown word, or
 * --key, whose values run until the next option): then every command is loaded.
 */
export function commandNamed(argv: string[]): string | null {
  for (let i = 2; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--key' || a === '-h' || a === '--help' || a === '-V' || a === '--version') return null;
    if (VALUE_OPTIONS.has(a)) {
      i++;
      continue;
    }
    if (a.startsWith('-')) continue;
    return COMMANDS.some((c) => c.names.includes(a)) ? a : null;
  }
  return null;
}

/** The program with the command `argv` names (all commands when it names none plainly). */
export async function buildProgram(argv: string[] = []): Promise<Command> {
  const only = commandNamed(argv);
  const registers = await Promise.all(COMMANDS.filter((c) => only === null || c.names.includes(only)).map((c) => c.load()));
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
  for (const register of registers) register(program, globals);
  for (const c of program.commands) c.exitOverride();
  return program;
}

export async function main(argv: string[]): Promise<number> {
  // The repository's key is derived on another core while the command's modules load.
  prefetchKey(commandNamed(argv), argv);
  const program = await buildProgram(argv);
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
