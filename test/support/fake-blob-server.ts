// A loopback HTTP server that speaks just enough Blob Storage to record requests and script failures.
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  /** Path and query, e.g. /devstoreaccount1/rec/p/packs/ab/x?comp=block&blockid=... */
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface FakeResponse {
  status: number;
  headers?: Record<string, string>;
  body?: Buffer | string;
}

/** Returns the answer, or 'hang' to never answer (for cancellation tests). */
export type Responder = (req: RecordedRequest, index: number) => FakeResponse | 'hang';

export interface FakeBlobServer {
  /** Service URL with the account path: http://127.0.0.1:<port>/devstoreaccount1. */
  endpoint: string;
  requests: RecordedRequest[];
  respond: Responder;
  close(): Promise<void>;
}

const BASE_HEADERS = { 'x-ms-version': '2026-02-06', 'x-ms-request-id': '00000000-0000-0000-0000-000000000000' };

/** 201 for every PUT (Put Blob, Put Block, Put Block List), 404 BlobNotFound otherwise. */
export const acceptPuts: Responder = (req) =>
  req.method === 'PUT'
    ? { status: 201, headers: { etag: '"0x8D0000000000001"', 'last-modified': new Date().toUTCString() } }
    : azureError(404, 'BlobNotFound', 'The specified blob does not exist.');

/** An error answer as the service sends it: x-ms-error-code header plus an XML body (none for HEAD). */
export function azureError(status: number, code: string, message: string): FakeResponse {
  return {
    status,
    headers: { 'x-ms-error-code': code, 'content-type': 'application/xml' },
    body: `<?xml version="1.0" encoding="utf-8"?><Error><Code>${code}</Code><Message>${message}\nRequestId:0\nTime:2026-01-01T00:00:00.0000000Z</Message></Error>`,
  };
}

/** A successful Get Blob of the whole object. */
export function blobBody(data: Buffer): FakeResponse {
  return {
    status: 200,
    headers: {
      etag: '"0x8D0000000000002"',
      'last-modified': new Date().toUTCString(),
      'x-ms-blob-type': 'BlockBlob',
      'content-type': 'application/octet-stream',
    },
    body: data,
  };
}

export async function startFakeBlobServer(respond: Responder = acceptPuts): Promise<FakeBlobServer> {
  const requests: RecordedRequest[] = [];
  const state: FakeBlobServer = { endpoint: '', requests, respond, close: async () => {} };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const recorded: RecordedRequest = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) };
      requests.push(recorded);
      const answer = state.respond(recorded, requests.length - 1);
      if (answer === 'hang') return;
      const bytes = answer.body === undefined ? Buffer.alloc(0) : Buffer.from(answer.body);
      res.writeHead(answer.status, { ...BASE_HEADERS, 'content-length': String(bytes.length), ...answer.headers });
      res.end(req.method === 'HEAD' ? undefined : bytes);
    });
  });
  server.listen(0, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;
  state.endpoint = `http://127.0.0.1:${port}/devstoreaccount1`;
  state.close = async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return state;
}
