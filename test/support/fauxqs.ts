// Starts the fauxqs S3 emulator as a child process for tests and stops it without leaving it running.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';

export interface Fauxqs {
  /** http://127.0.0.1:<port> */
  endpoint: string;
  bucket: string;
  /** A path-style client with dummy credentials and the third-party checksum settings. */
  client(options?: { maxAttempts?: number }): S3Client;
  /** Ends the server; resolves when the process has exited. Safe to call twice. */
  stop(): Promise<void>;
}

export const FAUXQS_REGION = 'us-east-1';
export const FAUXQS_CREDENTIALS = { accessKeyId: 'test-access-key', secretAccessKey: 'test-secret-key' };

const SERVER_SCRIPT = fileURLToPath(new URL('./fauxqs-server.ts', import.meta.url));
const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export function fauxqsClient(endpoint: string, maxAttempts = 3): S3Client {
  return new S3Client({
    endpoint,
    region: FAUXQS_REGION,
    forcePathStyle: true,
    credentials: FAUXQS_CREDENTIALS,
    maxAttempts,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

/** Starts fauxqs (generous timeouts: the machine may be busy), waits until it answers, and creates `bucket`. */
export async function startFauxqs(options: { bucket?: string; startTimeoutMs?: number } = {}): Promise<Fauxqs> {
  const bucket = options.bucket ?? 'cloudkeep-test';
  const deadline = Date.now() + (options.startTimeoutMs ?? 60_000);
  // process.execPath: the Node 24 that runs the tests (fauxqs 2.x needs node:sqlite from Node 22.5).
  const child = spawn(process.execPath, [SERVER_SCRIPT], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, FAUXQS_LOGGER: 'false' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const exited = once(child, 'exit').then(() => undefined);
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (text: string) => {
    stderr = (stderr + text).slice(-4000);
  });
  const stop = makeStop(child, exited);
  try {
    const port = await readPort(child, exited, deadline, () => stderr);
    const endpoint = `http://127.0.0.1:${port}`;
    await waitForHealth(endpoint, deadline);
    const admin = fauxqsClient(endpoint);
    try {
      await admin.send(new CreateBucketCommand({ Bucket: bucket }));
    } finally {
      admin.destroy();
    }
    // Let the test process exit even if a test forgets stop(): our stdin then closes and the child exits.
    child.unref();
    for (const stream of [child.stdin, child.stdout, child.stderr]) (stream as unknown as { unref?: () => void } | null)?.unref?.();
    return { endpoint, bucket, client: (o = {}) => fauxqsClient(endpoint, o.maxAttempts), stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

function makeStop(child: ChildProcess, exited: Promise<void>): () => Promise<void> {
  let stopping: Promise<void> | undefined;
  return () => {
    stopping ??= (async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.ref(); // keep this process alive until the child's exit is seen
      child.stdin?.end();
      child.kill('SIGTERM');
      const timer = new AbortController();
      const done = await Promise.race([exited.then(() => true), delay(10_000, false, { signal: timer.signal }).catch(() => false)]);
      timer.abort();
      if (!done) {
        child.kill('SIGKILL');
        await exited;
      }
    })();
    return stopping;
  };
}

async function readPort(child: ChildProcess, exited: Promise<void>, deadline: number, stderr: () => string): Promise<number> {
  const lines = createInterface({ input: child.stdout! });
  const first = new Promise<string>((resolve) => lines.once('line', resolve));
  const timeout = delay(Math.max(0, deadline - Date.now()), 'timeout' as const, { ref: false });
  const result = await Promise.race([first, exited.then(() => 'exited' as const), timeout]);
  lines.close();
  child.stdout?.resume(); // keep draining: a full pipe would block the child
  if (result === 'exited') throw new Error(`fauxqs exited before listening: ${stderr()}`);
  if (result === 'timeout') throw new Error(`fauxqs did not report its port in time: ${stderr()}`);
  const port = (JSON.parse(result) as { port?: unknown }).port;
  if (typeof port !== 'number') throw new Error(`fauxqs reported no port: ${result}`);
  return port;
}

async function waitForHealth(endpoint: string, deadline: number): Promise<void> {
  for (;;) {
    try {
      const res = await fetch(`${endpoint}/health`, { signal: AbortSignal.timeout(5000) });
      await res.arrayBuffer();
      if (res.ok) return;
    } catch {
      // not answering yet
    }
    if (Date.now() > deadline) throw new Error(`fauxqs at ${endpoint} did not answer /health in time`);
    await delay(100);
  }
}
