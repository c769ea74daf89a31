// Runs Azurite's blob service on a free loopback port as a child process, for tests against real Azure wire behaviour.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { ContainerClient, StorageSharedKeyCredential, type StoragePipelineOptions } from '@azure/storage-blob';

/** Azurite's documented development account; public, not a secret. */
export const AZURITE_ACCOUNT = 'devstoreaccount1';
export const AZURITE_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export interface Azurite {
  /** Blob service URL with the account path, e.g. http://127.0.0.1:41234/devstoreaccount1. */
  endpoint: string;
  credential: StorageSharedKeyCredential;
  /** A client for `name`, without SDK retries unless options say otherwise. Does not create the container. */
  containerClient(name: string, options?: StoragePipelineOptions): ContainerClient;
  /** Creates a container (a fresh unique name by default) and returns its client. */
  createContainer(name?: string): Promise<ContainerClient>;
  /** Kills the process; safe to call twice. */
  stop(): Promise<void>;
}

export interface StartAzuriteOptions {
  /** How long to wait for the service to answer. Default 60 s (slow shared machines). */
  startTimeoutMs?: number;
}

const require = createRequire(import.meta.url);
let counter = 0;

export async function startAzurite(options: StartAzuriteOptions = {}): Promise<Azurite> {
  const timeoutMs = options.startTimeoutMs ?? 60_000;
  const main = require.resolve('azurite/dist/src/blob/main.js');
  // process.execPath: the same Node 24 that runs the tests, whatever `node` is first on PATH.
  // Port 0 lets the OS pick a free port; Azurite prints the address it bound.
  const child = spawn(
    process.execPath,
    [main, '--blobHost', '127.0.0.1', '--blobPort', '0', '--inMemoryPersistence', '--disableTelemetry', '--skipApiVersionCheck', '--silent'],
    { cwd: tmpdir(), stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, AZURITE_ACCOUNTS: undefined } },
  );
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  let output = '';
  try {
    const address = await waitForAddress(child, timeoutMs, (text) => (output += text));
    const endpoint = `${address}/${AZURITE_ACCOUNT}`;
    await waitUntilAnswering(endpoint, timeoutMs);
    const credential = new StorageSharedKeyCredential(AZURITE_ACCOUNT, AZURITE_KEY);
    const containerClient = (name: string, pipeline: StoragePipelineOptions = {}) =>
      new ContainerClient(`${endpoint}/${name}`, credential, { retryOptions: { maxTries: 1, tryTimeoutInMs: 120_000 }, ...pipeline });
    return {
      endpoint,
      credential,
      containerClient,
      async createContainer(name = `c${process.pid}-${++counter}-${randomBytes(3).toString('hex')}`) {
        const client = containerClient(name, { retryOptions: { maxTries: 3, retryDelayInMs: 200, tryTimeoutInMs: 60_000 } });
        await client.create();
        return containerClient(name);
      },
      stop: () => stopChild(child, killOnExit),
    };
  } catch (err) {
    await stopChild(child, killOnExit);
    throw new Error(`Azurite did not start: ${err instanceof Error ? err.message : String(err)}; output: ${output.trim() || '(none)'}`, { cause: err });
  }
}

/** Resolves with http://127.0.0.1:<port> once Azurite reports it listens; rejects on exit or timeout. */
function waitForAddress(child: ChildProcess, timeoutMs: number, record: (text: string) => void): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    const timer = setTimeout(() => finish(new Error(`no listening address after ${timeoutMs} ms`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      const text = chunk.toString();
      record(text);
      buffered += text;
      const match = /successfully listens on (http:\/\/127\.0\.0\.1:\d+)/.exec(buffered);
      if (match) finish(null, match[1]);
    };
    const onExit = (code: number | null, sig: string | null) => finish(new Error(`exited early (code ${code}, signal ${sig})`));
    const onError = (err: Error) => finish(err);
    function finish(err: Error | null, address?: string) {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.off('exit', onExit);
      child.off('error', onError);
      // Keep draining output so a chatty child never blocks on a full pipe.
      child.stdout?.resume();
      child.stderr?.resume();
      if (err) reject(err);
      else resolve(address!);
    }
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (chunk: Buffer) => record(chunk.toString()));
    child.once('exit', onExit);
    child.once('error', onError);
  });
}

/** Polls until the service answers any HTTP status: the printed address can precede readiness by a moment. */
async function waitUntilAnswering(endpoint: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(`${endpoint}?comp=list`, { signal: AbortSignal.timeout(5000) });
      await res.arrayBuffer();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`no answer from ${endpoint} within ${timeoutMs} ms`, { cause: err });
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

async function stopChild(child: ChildProcess, killOnExit: () => void): Promise<void> {
  process.off('exit', killOnExit);
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  // Everything lives in memory, so there is nothing to flush: kill at once.
  child.kill('SIGKILL');
  await exited;
}
