// The `cloudkeep` command line as a child process (node running cli/main.ts): its output as it comes,
// its exit code, and a wait for a line of its output.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const CLI_MAIN = fileURLToPath(new URL('../../cli/main.ts', import.meta.url));

export interface CliProcess {
  child: ChildProcess;
  out: { stdout: string; stderr: string };
  /** The exit code, or the name of the signal that ended the process (say, 'SIGSEGV'). */
  exited: Promise<number | string>;
}

const running = new Set<ChildProcess>();

/** Kills the processes runCli started that still run (for after hooks: a failed assertion must not leave a server behind). */
export function killLeftovers(): void {
  for (const child of running) child.kill('SIGKILL');
}

/** Runs `cloudkeep <args>` with a minimal environment (PATH, HOME) plus `env`. */
export function runCli(args: string[], env: Record<string, string> = {}): CliProcess {
  const child = spawn(process.execPath, [CLI_MAIN, ...args], { env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const out = { stdout: '', stderr: '' };
  child.stdout!.on('data', (d) => (out.stdout += d));
  child.stderr!.on('data', (d) => (out.stderr += d));
  running.add(child);
  const exited = new Promise<number | string>((ok) => child.on('close', (code, signal) => {
    running.delete(child);
    ok(code ?? signal ?? 'no exit code');
  }));
  return { child, out, exited };
}

/** Resolves with the first match of `pattern` in the process's stdout; fails when it exits first or after `timeoutMs`. */
export function waitForOutput(run: CliProcess, pattern: RegExp, timeoutMs = 60_000): Promise<RegExpExecArray> {
  return new Promise((ok, fail) => {
    const started = Date.now();
    const timer = setInterval(() => {
      const m = pattern.exec(run.out.stdout);
      const exited = run.child.exitCode !== null || run.child.signalCode !== null;
      const late = Date.now() - started > timeoutMs;
      if (m || exited || late) clearInterval(timer);
      if (m) ok(m);
      else if (exited || late) fail(new Error(`${exited ? 'the process exited' : `no match after ${timeoutMs} ms`} before printing ${pattern}:\n${run.out.stdout}\n${run.out.stderr}`));
    }, 100);
  });
}

/** The `console: <url>/?token=<token>` line `cloudkeep start` and `cloudkeep serve` print. */
export const CONSOLE_LINE = /console: (http:\/\/127\.0\.0\.1:\d+)\/\?token=(\S+)/;
