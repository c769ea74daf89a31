// A small HTTP server speaking the Step Functions JSON 1.0 protocol: SendTaskHeartbeat/Success/Failure (recording calls), and
// Start/Describe/Stop/ListExecutions over in-memory executions whose end a test sets with finish().
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

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

export interface SfnExecution {
  executionArn: string;
  stateMachineArn: string;
  name: string;
  input: string;
  status: ExecutionStatus;
  /** ms since the epoch. */
  startDate: number;
  stopDate?: number;
  output?: string;
  error?: string;
  cause?: string;
}

const TASK_OPS = ['SendTaskHeartbeat', 'SendTaskSuccess', 'SendTaskFailure'];
const EXECUTION_OPS = ['StartExecution', 'DescribeExecution', 'StopExecution', 'ListExecutions'];
const STATE_MACHINE_ARN = /^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:stateMachine:[\w-]{1,80}$/;
const EXECUTION_NAME = /^[\w-]{1,80}$/;

export class SfnTestServer {
  /** Executions by ARN, in start order. */
  readonly executions = new Map<string, SfnExecution>();
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

  /** Ends a running execution as Step Functions would (output for SUCCEEDED, error and cause otherwise). */
  finish(executionArn: string, end: { status: Exclude<ExecutionStatus, 'RUNNING'>; output?: unknown; error?: string; cause?: string }): void {
    const e = this.executions.get(executionArn);
    if (!e) throw new Error(`no execution ${executionArn}`);
    Object.assign(e, { status: end.status, stopDate: Date.now(), error: end.error, cause: end.cause, output: end.output === undefined ? undefined : JSON.stringify(end.output) });
  }

  reset(): void {
    this.calls.length = 0;
    this.executions.clear();
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
    if (req.method === 'POST' && EXECUTION_OPS.includes(op)) return this.#execution(res, op, body);
    if (req.method !== 'POST' || !TASK_OPS.includes(op)) {
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

  #execution(res: ServerResponse, op: string, body: Record<string, unknown>): void {
    const reply = (out: unknown) => {
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': 'sfn-req-1' });
      res.end(JSON.stringify(out));
    };
    const seconds = (ms: number | undefined) => (ms === undefined ? undefined : ms / 1000);
    const summary = (e: SfnExecution) => ({ executionArn: e.executionArn, stateMachineArn: e.stateMachineArn, name: e.name, status: e.status, startDate: seconds(e.startDate), stopDate: seconds(e.stopDate) });
    if (op === 'StartExecution' || op === 'ListExecutions') {
      const machine = String(body.stateMachineArn ?? '');
      if (!STATE_MACHINE_ARN.test(machine)) return this.#fault(res, 'InvalidArn', `invalid state machine ARN ${machine}`);
      if (op === 'ListExecutions') {
        const all = [...this.executions.values()].filter((e) => e.stateMachineArn === machine && (!body.statusFilter || e.status === body.statusFilter)).reverse();
        const from = Number(body.nextToken ?? 0);
        const size = Number(body.maxResults ?? 100) || 100;
        const page = all.slice(from, from + size);
        return reply({ executions: page.map(summary), ...(from + size < all.length ? { nextToken: String(from + size) } : {}) });
      }
      const name = String(body.name ?? '');
      if (!EXECUTION_NAME.test(name)) return this.#fault(res, 'InvalidName', `invalid execution name ${name}`);
      const input = String(body.input ?? '{}');
      try {
        JSON.parse(input);
      } catch {
        return this.#fault(res, 'InvalidExecutionInput', 'input is not JSON');
      }
      const executionArn = `${machine.replace(':stateMachine:', ':execution:')}:${name}`;
      const seen = this.executions.get(executionArn);
      if (seen && seen.input !== input) return this.#fault(res, 'ExecutionAlreadyExists', `execution ${name} already exists`);
      const e = seen ?? { executionArn, stateMachineArn: machine, name, input, status: 'RUNNING' as const, startDate: Date.now() };
      this.executions.set(executionArn, e);
      return reply({ executionArn, startDate: seconds(e.startDate) });
    }
    const e = this.executions.get(String(body.executionArn ?? ''));
    if (!e) return this.#fault(res, 'ExecutionDoesNotExist', `execution ${String(body.executionArn)} does not exist`);
    if (op === 'StopExecution') {
      if (e.status === 'RUNNING') Object.assign(e, { status: 'ABORTED', stopDate: Date.now(), error: body.error, cause: body.cause });
      return reply({ stopDate: seconds(e.stopDate) });
    }
    return reply({ ...summary(e), input: e.input, output: e.output, error: e.error, cause: e.cause });
  }

  #fault(res: ServerResponse, type: string, message: string): void {
    res.writeHead(400, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': 'sfn-req-1' });
    res.end(JSON.stringify({ __type: `com.amazonaws.swf.service.v2.model#${type}`, message }));
  }
}
