// A small HTTP server speaking the EBS direct APIs (REST-JSON) and EC2 DescribeSnapshots/DeleteSnapshot (Query, XML) for tests.
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EBSClient } from '@aws-sdk/client-ebs';
import { EC2Client } from '@aws-sdk/client-ec2';

export const TEST_CREDENTIALS = { accessKeyId: 'AKIDCLOUDKEEPTEST', secretAccessKey: 'cloudkeep-test-secret' };
export const BLOCK = 512 * 1024;
const OWNER = '111122223333';

export interface TestSnapshot {
  id: string;
  volumeId: string;
  /** The snapshot this one was taken after, on the same volume: its lineage. */
  parent: string | null;
  sizeGiB: number;
  blocks: Map<number, Buffer>;
  status: 'pending' | 'completed' | 'error';
  startTime: Date;
  description: string;
  tags: Record<string, string>;
  clientToken?: string;
  putCount: number;
}

class Fault extends Error {
  readonly type: string;
  readonly status: number;
  readonly reason: string | undefined;
  constructor(status: number, type: string, message: string, reason?: string) {
    super(message);
    this.status = status;
    this.type = type;
    this.reason = reason;
  }
}

export class EbsTestServer {
  readonly region = 'eu-west-1';
  readonly snapshots = new Map<string, TestSnapshot>();
  /** Answer the next N GetSnapshotBlock calls with `throttleType` (HTTP 400). */
  throttleNext = 0;
  throttleType = 'ThrottlingException';
  /** Send a wrong x-amz-Checksum on the next N GetSnapshotBlock answers. */
  corruptNext = 0;
  /** Answer every EBS and EC2 call with AccessDeniedException / UnauthorizedOperation. */
  denyAccess = false;
  /** GetSnapshotBlock calls, in total and per snapshot (throttled ones included). */
  getBlockCalls = 0;
  readonly getBlockCallsBySnapshot = new Map<string, number>();
  /** More EC2 Query actions (test/support/fake-ec2-restore.ts): the inner XML of the response, undefined when not handled; throws { code, message }. */
  ec2Extension: ((action: string, params: URLSearchParams) => string | undefined) | undefined;
  /** Operation names in order, e.g. "ListSnapshotBlocks", "DescribeSnapshots". */
  readonly calls: string[] = [];
  #tokenGen = 1;
  #seq = 0;
  readonly #server: Server;
  #endpoint = '';

  private constructor() {
    this.#server = createServer((req, res) => void this.#handle(req, res));
  }

  static async start(): Promise<EbsTestServer> {
    const s = new EbsTestServer();
    await new Promise<void>((resolve) => s.#server.listen(0, '127.0.0.1', resolve));
    s.#endpoint = `http://127.0.0.1:${(s.#server.address() as AddressInfo).port}`;
    return s;
  }

  get endpoint(): string {
    return this.#endpoint;
  }

  /** Real SDK clients pointed here; EBS with maxAttempts 1 by default so throttling reaches the caller's quota. */
  ebsClient(maxAttempts = 1): EBSClient {
    return new EBSClient({ endpoint: this.#endpoint, region: this.region, credentials: TEST_CREDENTIALS, maxAttempts });
  }
  ec2Client(): EC2Client {
    return new EC2Client({ endpoint: this.#endpoint, region: this.region, credentials: TEST_CREDENTIALS, maxAttempts: 1 });
  }

  /** A completed snapshot; with `parent`, it starts from the parent's blocks and `blocks` overrides (null removes). */
  addSnapshot(opts: { volumeId?: string; sizeGiB?: number; parent?: string; blocks?: Map<number, Buffer | null> }): string {
    const parent = opts.parent ? this.snapshots.get(opts.parent) : undefined;
    if (opts.parent && !parent) throw new Error(`no parent ${opts.parent}`);
    const blocks = new Map(parent?.blocks ?? []);
    for (const [i, b] of opts.blocks ?? []) {
      if (b === null) blocks.delete(i);
      else if (b.length !== BLOCK) throw new Error(`block ${i}: ${b.length} bytes`);
      else blocks.set(i, b);
    }
    const id = this.#newId('snap');
    this.snapshots.set(id, {
      id, volumeId: opts.volumeId ?? parent?.volumeId ?? this.#newId('vol'), parent: parent?.id ?? null, sizeGiB: opts.sizeGiB ?? parent?.sizeGiB ?? 1,
      blocks, status: 'completed', startTime: new Date(Date.UTC(2026, 0, 1) + this.#seq * 1000), description: '', tags: {}, putCount: 0,
    });
    return id;
  }

  /** Makes every block token handed out so far invalid, as after 7 days. */
  expireTokens(): void {
    this.#tokenGen++;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #newId(prefix: string): string {
    return `${prefix}-${(++this.#seq).toString(16).padStart(17, '0')}`;
  }

  #snap(id: string): TestSnapshot {
    const s = this.snapshots.get(id);
    if (!s) throw new Fault(404, 'ResourceNotFoundException', `The snapshot '${id}' does not exist.`, 'SNAPSHOT_NOT_FOUND');
    return s;
  }

  #token(id: string, index: number): string {
    return Buffer.from(`${id}/${index}/${this.#tokenGen}`).toString('base64url');
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const url = new URL(req.url ?? '/', 'http://x');
    const path = decodeURIComponent(url.pathname);
    const q = url.searchParams;
    try {
      if (req.method === 'POST' && path === '/') return this.#ec2(new URLSearchParams(body.toString()), res);
      if (this.denyAccess) throw new Fault(403, 'AccessDeniedException', 'User is not authorized to perform this action', 'UNAUTHORIZED_ACCOUNT');
      let m: RegExpMatchArray | null;
      if (req.method === 'GET' && (m = path.match(/^\/snapshots\/([^/]+)\/blocks$/))) return this.#listBlocks(m[1], q, res);
      if (req.method === 'GET' && (m = path.match(/^\/snapshots\/([^/]+)\/changedblocks$/))) return this.#listChanged(m[1], q, res);
      if (req.method === 'GET' && (m = path.match(/^\/snapshots\/([^/]+)\/blocks\/(\d+)$/))) return this.#getBlock(m[1], Number(m[2]), q, res);
      if (req.method === 'POST' && path === '/snapshots') return this.#start(JSON.parse(body.toString() || '{}') as Record<string, unknown>, res);
      if (req.method === 'PUT' && (m = path.match(/^\/snapshots\/([^/]+)\/blocks\/(\d+)$/))) return this.#putBlock(m[1], Number(m[2]), req, body, res);
      if (req.method === 'POST' && (m = path.match(/^\/snapshots\/completion\/([^/]+)$/))) return this.#complete(m[1], req, res);
      throw new Fault(404, 'UnknownOperationException', `no route ${req.method} ${path}`);
    } catch (err) {
      const f = err instanceof Fault ? err : new Fault(500, 'InternalServerException', String(err));
      const payload = JSON.stringify({ Message: f.message, ...(f.reason ? { Reason: f.reason } : {}) });
      res.writeHead(f.status, { 'content-type': 'application/json', 'x-amzn-errortype': f.type, 'x-amzn-requestid': 'req-1' });
      res.end(payload);
    }
  }

  #json(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
    res.writeHead(status, { 'content-type': 'application/json', 'x-amzn-requestid': 'req-1', ...headers });
    res.end(JSON.stringify(value));
  }

  #page(q: URLSearchParams, indexes: number[]): { page: number[]; next?: string } {
    const max = Number(q.get('maxResults') ?? 10000);
    const tok = q.get('pageToken');
    const from = tok ? Number(Buffer.from(tok, 'base64url').toString().split('/')[1]) : Number(q.get('startingBlockIndex') ?? 0);
    if (tok && !Number.isFinite(from)) throw new Fault(400, 'ValidationException', 'The pagination token is not valid', 'INVALID_PAGE_TOKEN');
    const rest = indexes.filter((i) => i >= from);
    const page = rest.slice(0, max);
    return { page, next: rest.length > max ? Buffer.from(`page/${rest[max]}`).toString('base64url') : undefined };
  }

  #listBlocks(id: string, q: URLSearchParams, res: ServerResponse): void {
    this.calls.push('ListSnapshotBlocks');
    const s = this.#snap(id);
    const { page, next } = this.#page(q, [...s.blocks.keys()].sort((a, b) => a - b));
    this.#json(res, 200, {
      Blocks: page.map((i) => ({ BlockIndex: i, BlockToken: this.#token(id, i) })),
      ExpiryTime: Math.floor(Date.now() / 1000) + 7 * 86400, VolumeSize: s.sizeGiB, BlockSize: BLOCK, ...(next ? { NextToken: next } : {}),
    });
  }

  #listChanged(second: string, q: URLSearchParams, res: ServerResponse): void {
    this.calls.push('ListChangedBlocks');
    const b = this.#snap(second);
    const firstId = q.get('firstSnapshotId');
    const a = firstId ? this.#snap(firstId) : null;
    if (a) {
      let p: TestSnapshot | undefined = b;
      while (p && p.id !== a.id) p = p.parent ? this.snapshots.get(p.parent) : undefined;
      if (!p) throw new Fault(400, 'ValidationException', `The snapshots ${a.id} and ${second} are not from the same volume lineage`, 'UNRELATED_SNAPSHOTS');
    }
    const all = [...new Set([...(a?.blocks.keys() ?? []), ...b.blocks.keys()])].sort((x, y) => x - y);
    const changed = all.filter((i) => {
      const x = a?.blocks.get(i);
      const y = b.blocks.get(i);
      return !(x && y && (x === y || x.equals(y)));
    });
    const { page, next } = this.#page(q, changed);
    this.#json(res, 200, {
      ChangedBlocks: page.map((i) => ({
        BlockIndex: i,
        ...(a?.blocks.has(i) ? { FirstBlockToken: this.#token(a.id, i) } : {}),
        ...(b.blocks.has(i) ? { SecondBlockToken: this.#token(second, i) } : {}),
      })),
      ExpiryTime: Math.floor(Date.now() / 1000) + 7 * 86400, VolumeSize: b.sizeGiB, BlockSize: BLOCK, ...(next ? { NextToken: next } : {}),
    });
  }

  #getBlock(id: string, index: number, q: URLSearchParams, res: ServerResponse): void {
    this.calls.push('GetSnapshotBlock');
    this.getBlockCalls++;
    this.getBlockCallsBySnapshot.set(id, (this.getBlockCallsBySnapshot.get(id) ?? 0) + 1);
    if (this.throttleNext > 0) {
      this.throttleNext--;
      throw new Fault(400, this.throttleType, 'Rate exceeded', 'RESOURCE_LEVEL_THROTTLE');
    }
    const s = this.#snap(id);
    if (q.get('blockToken') !== this.#token(id, index)) throw new Fault(400, 'ValidationException', 'The block token is not valid or has expired', 'INVALID_BLOCK_TOKEN');
    const data = s.blocks.get(index) ?? Buffer.alloc(BLOCK);
    let checksum = createHash('sha256').update(data).digest('base64');
    if (this.corruptNext > 0) {
      this.corruptNext--;
      checksum = createHash('sha256').update('corrupt').digest('base64');
    }
    res.writeHead(200, {
      'content-type': 'application/octet-stream', 'content-length': String(data.length), 'x-amz-Data-Length': String(data.length),
      'x-amz-Checksum': checksum, 'x-amz-Checksum-Algorithm': 'SHA256', 'x-amzn-requestid': 'req-1',
    });
    res.end(data);
  }

  #start(body: Record<string, unknown>, res: ServerResponse): void {
    this.calls.push('StartSnapshot');
    const token = typeof body.ClientToken === 'string' ? body.ClientToken : undefined;
    let s = token ? [...this.snapshots.values()].find((x) => x.clientToken === token) : undefined;
    if (!s) {
      const size = Number(body.VolumeSize);
      if (!(size >= 1 && size <= 65536)) throw new Fault(400, 'ValidationException', `invalid volume size ${String(body.VolumeSize)}`, 'INVALID_VOLUME_SIZE');
      const tags = Object.fromEntries(((body.Tags ?? []) as Array<{ Key: string; Value: string }>).map((t) => [t.Key, t.Value]));
      const id = this.#newId('snap');
      s = { id, volumeId: 'vol-ffffffff', parent: null, sizeGiB: size, blocks: new Map(), status: 'pending', startTime: new Date(), description: String(body.Description ?? ''), tags, clientToken: token, putCount: 0 };
      this.snapshots.set(id, s);
    }
    this.#json(res, 201, { SnapshotId: s.id, OwnerId: OWNER, Status: s.status, StartTime: Math.floor(s.startTime.getTime() / 1000), VolumeSize: s.sizeGiB, BlockSize: BLOCK, Description: s.description, Tags: Object.entries(s.tags).map(([Key, Value]) => ({ Key, Value })) });
  }

  #putBlock(id: string, index: number, req: IncomingMessage, body: Buffer, res: ServerResponse): void {
    this.calls.push('PutSnapshotBlock');
    const s = this.#snap(id);
    if (s.status !== 'pending') throw new Fault(400, 'ValidationException', `snapshot ${id} is ${s.status}`, 'INVALID_SNAPSHOT_ID');
    const checksum = createHash('sha256').update(body).digest('base64');
    if (body.length !== BLOCK || Number(req.headers['x-amz-data-length']) !== body.length) throw new Fault(400, 'ValidationException', `block of ${body.length} bytes, DataLength ${String(req.headers['x-amz-data-length'])}`, 'INVALID_BLOCK');
    if (req.headers['x-amz-checksum-algorithm'] !== 'SHA256' || req.headers['x-amz-checksum'] !== checksum) throw new Fault(400, 'ValidationException', 'checksum does not match the data', 'INVALID_PARAMETER_VALUE');
    if (index >= (s.sizeGiB * 1024 ** 3) / BLOCK) throw new Fault(400, 'ValidationException', `block index ${index} past the volume`, 'INVALID_BLOCK');
    s.blocks.set(index, Buffer.from(body));
    s.putCount++;
    res.writeHead(201, { 'x-amz-Checksum': checksum, 'x-amz-Checksum-Algorithm': 'SHA256', 'x-amzn-requestid': 'req-1', 'content-length': '0' });
    res.end();
  }

  #complete(id: string, req: IncomingMessage, res: ServerResponse): void {
    this.calls.push('CompleteSnapshot');
    const s = this.#snap(id);
    const count = Number(req.headers['x-amz-changedblockscount']);
    s.status = count === s.blocks.size ? 'completed' : 'error';
    this.#json(res, 202, { Status: s.status });
  }

  #ec2(params: URLSearchParams, res: ServerResponse): void {
    const action = params.get('Action') ?? '';
    this.calls.push(action);
    const xml = (status: number, text: string) => {
      res.writeHead(status, { 'content-type': 'text/xml;charset=UTF-8' });
      res.end(`<?xml version="1.0" encoding="UTF-8"?>\n${text}`);
    };
    const error = (status: number, code: string, message: string) => xml(status, `<Response><Errors><Error><Code>${code}</Code><Message>${message}</Message></Error></Errors><RequestID>req-1</RequestID></Response>`);
    if (this.denyAccess) return error(403, 'UnauthorizedOperation', 'You are not authorized to perform this operation.');
    const ids = [...params.entries()].filter(([k]) => /^SnapshotId(\.\d+)?$/.test(k)).map(([, v]) => v);
    const missing = ids.find((i) => !this.snapshots.has(i));
    if (missing) return error(400, 'InvalidSnapshot.NotFound', `The snapshot '${missing}' does not exist.`);
    const ns = 'xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"';
    try {
      const inner = this.ec2Extension?.(action, params);
      if (inner !== undefined) return xml(200, `<${action}Response ${ns}><requestId>req-1</requestId>${inner}</${action}Response>`);
    } catch (err) {
      const e = err as { code?: string; message?: string };
      return error(400, e.code ?? 'InternalError', e.message ?? String(err));
    }
    if (action === 'DeleteSnapshot') {
      this.snapshots.delete(ids[0]);
      return xml(200, `<DeleteSnapshotResponse ${ns}><requestId>req-1</requestId><return>true</return></DeleteSnapshotResponse>`);
    }
    if (action !== 'DescribeSnapshots') return error(400, 'InvalidAction', `The action ${action} is not valid for this web service.`);
    const items = (ids.length ? ids.map((i) => this.snapshots.get(i)!) : [...this.snapshots.values()]).map((s) =>
      `<item><snapshotId>${s.id}</snapshotId><volumeId>${s.volumeId}</volumeId><status>${s.status}</status><startTime>${s.startTime.toISOString()}</startTime><progress>100%</progress><ownerId>${OWNER}</ownerId><volumeSize>${s.sizeGiB}</volumeSize><description>${s.description}</description><encrypted>false</encrypted></item>`);
    xml(200, `<DescribeSnapshotsResponse ${ns}><requestId>req-1</requestId><snapshotSet>${items.join('')}</snapshotSet></DescribeSnapshotsResponse>`);
  }
}
