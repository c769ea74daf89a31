// `cloudkeep demo`: `cloudkeep start --fresh --no-serve` in its own directory (one code path).
import type { Command } from 'commander';
import type { GlobalOptions } from '../context.ts';
import { runStart } from './start.ts';

export function registerDemo(program: Command, globals: () => GlobalOptions): void {
  program
    .command('demo')
    .description('run the embedded default once in a fresh directory and exit: `cloudkeep start --fresh --no-serve`')
    .option('--dir <dir>', 'working directory (recreated)', '.cloudkeep/demo')
    .option('--size <size>', 'size of each of the two demo volumes', '256MiB')
    .action((o: { dir: string; size: string }) => runStart({ dir: o.dir, size: o.size, fresh: true, serve: false, port: '0' }, globals()));
}
