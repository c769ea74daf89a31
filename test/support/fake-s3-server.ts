// A scripted S3 wire stand-in on loopback: records every request and answers as each test tells it to.
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  /** Decoded path, e.g. /bucket/prefix/key (path-style). */
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface FakeReply {
  status: number;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Wait this long before answering (for cancellation tests). */
  delayMs?: number;
}

/** 'destroy' cuts the connection without an answer, as a network failure would. */
export type FakeHandler = (req: RecordedRequest, index: number) => FakeReply | 'destroy';

export interface FakeS3 {
  endpoint: string;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

export const FAKE_ETAG = '"0123456789abcdef0123456789abcdef"';

/** Answers 200 with an ETag to everything: enough for PutObject, DeleteObject and (with an XML body) DeleteObjects. */
export const okHandler: FakeHandler = (req): FakeReply => {
  if (req.method === 'POST' && req.query.has('delete')) return { status: 200, headers: { 'content-type': 'application/xml' }, body: '<?xml version="1.0" encoding="UTF-8"?><DeleteResult></DeleteResult>' };
  return { status: 200, headers: { etag: FAKE_ETAG } };
};

export function s3ErrorXml(code: string, message: string, extra = ''): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message>${extra}<RequestId>4442587FB7D0A2F9</RequestId></Error>`;
}

export function s3Error(status: number, code: string, message: string, extra = ''): FakeReply {
  return { status, headers: { 'content-type': 'application/xml' }, body: s3ErrorXml(code, message, extra) };
}

export async function startFakeS3(handler: FakeHandler): Promise<FakeS3> {
  const requests: RecordedRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://fake');
      const recorded: RecordedRequest = { method: req.method ?? '', path: decodeURIComponent(url.pathname), query: url.searchParams, headers: req.headers, body: Buffer.concat(chunks) };
      const index = requests.push(recorded) - 1;
      const reply = handler(recorded, index);
      if (reply === 'destroy') {
        req.socket.destroy();
        return;
      }
      const send = () => {
        if (res.destroyed) return;
        const body = reply.body ?? '';
        res.writeHead(reply.status, { 'x-amz-request-id': '4442587FB7D0A2F9', 'content-length': String(Buffer.byteLength(body)), ...reply.headers });
        res.end(req.method === 'HEAD' ? undefined : body);
      };
      if (reply.delayMs) setTimeout(send, reply.delayMs).unref();
      else send();
    });
  });
  server.listen(0, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
