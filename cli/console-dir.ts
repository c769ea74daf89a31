// Where the built console is: one answer for `cloudkeep start` and `cloudkeep serve`.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The built console's directory: $CLOUDKEEP_CONSOLE_DIR when set (e.g. a development build), else
 * dist/console of the package (from cli/ in the sources, or from dist/cli/ itself).
 */
export function consoleDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.CLOUDKEEP_CONSOLE_DIR) return env.CLOUDKEEP_CONSOLE_DIR;
  const fromDist = import.meta.url.endsWith('.js');
  return fileURLToPath(new URL(fromDist ? '../console/' : '../dist/console/', import.meta.url));
}

/** A line for people when `dir` holds no built console, else undefined. */
export function consoleMissingNote(dir: string): string | undefined {
  if (existsSync(join(dir, 'index.html'))) return undefined;
  return `note: the console is not built (${dir} is missing; npm run build makes it); the API answers under /api`;
}
