// A small HTTP server speaking the Step Functions JSON 1.0 protocol for SendTaskHeartbeat/Success/Failure, recording calls.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SFNClient } from '@aws-sdk/client-sfn';
import { TEST_CREDENTIALS } from './ebs-test-server.ts';

export type SfnOperation = 'SendTaskHeartbeat' | 'SendTaskSuccess' | 'SendTaskFailure';

export interface SfnCall {
  op: SfnOperation;
  taskToken: string;
  output?: string;
  error?: string;
  cause?: string;
  at: number;
}

export class SfnTestServer {
  readonly region = 'eu-west-1';
  readonly calls: SfnCall[] = [];
  /** Answer every call with TaskTimedOut (the state machine gave up on the task). */
  timedOut = false;
  /** Answer TaskTimedOut once this many heartbeats were accepted (null: never). */
  timeOutAfterHeartbeats: number | null = null;
  /** Tokens already completed: a second result for them is refused with TaskTimedOut, as Step Functions does. */
  readonly #done = new Set<string>();
  readonly #server: Server;
  #endpoint = '';

  private constructor() {
    this.#server = createServer((req, res) => void this.#handle(req, res));
  }

  static async start(): Promise<SfnTestServer> {
    const s = new SfnTestServer();
    await new Promise<void>((resolve) => s.#server.listen(0, '127.0.0.1', resolve));
    s.#endpoint = `http://127.0.0.1:${(s.#server.address() as AddressInfo).port}`;
    return s;
  }

  get endpoint(): string {
    return this.#endpoint;
  }

  /** A real SDK client pointed here. */
  client(): SFNClient {
    return new SFNClient({ endpoint: this.#endpoint, region: this.region, credentials: TEST_CREDENTIALS, maxAttempts: 1 });
  }

  of(op: SfnOperation): SfnCall[] {
    return this.calls.filter((c) => c.op === op);
  }

  reset(): void {
    this.calls.length = 0;
    this.timedOut = false;
    this.timeOutAfterHeartbeats = null;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const target = String(req.headers['x-amz-target'] ?? '');
    const op = target.startsWith('AWSStepFunctions.') ? target.slice('AWSStepFunctions.'.length) : '';
    let body: Record<string, string>;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString() || '{}') as Record<string, string>;
    } catch {
      return this.#fault(res, 'SerializationException', 'body is not JSON');
    }
    if (req.method !== 'POST' || !['SendTaskHeartbeat', 'SendTaskSuccess', 'SendTaskFailure'].includes(op)) {
      return this.#fault(res, 'UnknownOperationException', `unsupported ${req.method} ${target}`);
    }
    if (!body.taskToken) return this.#fault(res, 'InvalidToken', 'taskToken is required');
    if (op === 'SendTaskFailure' && ((body.error?.length ?? 0) > 256 || (body.cause?.length ?? 0) > 32_768)) {
      return this.#fault(res, 'ValidationException', 'error or cause too long');
    }
    if (op === 'SendTaskSuccess') {
      try {
        JSON.parse(body.output ?? '');
      } catch {
        return this.#fault(res, 'InvalidOutput', 'output is not JSON');
      }
    }
    this.calls.push({ op: op as SfnOperation, taskToken: body.taskToken, output: body.output, error: body.error, cause: body.cause, at: Date.now() });
    const beats = this.calls.filter((c) => c.op === 'SendTaskHeartbeat' && c.taskToken === body.taskToken).length;
    const expired = this.timedOut || this.#done.has(body.taskToken) || (this.timeOutAfterHeartbeats !== null && op === 'SendTaskHeartbeat' && beats > this.timeOutAfterHeartbeats);
    if (expired) return this.#fault(res, 'TaskTimedOut', 'Task Timed Out');
    if (op !== 'SendTaskHeartbeat') this.#done.add(body.taskToken);
    res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': 'sfn-req-1' });
    res.end('{}');
  }

  #fault(res: ServerResponse, type: string, message: string): void {
    res.writeHead(400, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': 'sfn-req-1' });
    res.end(JSON.stringify({ __type: `com.amazonaws.swf.service.v2.model#${type}`, message }));
  }
}
