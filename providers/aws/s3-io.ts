// Byte-level helpers of the S3 store: CRC32 checksums, ranges, timestamps and response bodies.
import { Readable } from 'node:stream';
import { crc32 } from 'node:zlib';
import { AbortedError } from '../../core/errors.ts';
import { StoreError, type ByteRange } from '../../core/store/object-store.ts';

export function crc32Base64(data: Uint8Array): string {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(crc32(data) >>> 0);
  return out.toString('base64');
}

/** S3's HEAD answers in whole seconds while listings may carry milliseconds: keep both equal. */
export function wholeSeconds(date: Date | undefined): number {
  return date === undefined ? 0 : Math.floor(date.getTime() / 1000) * 1000;
}

export function checkRangeShape(key: string, range: ByteRange): void {
  const { offset, length } = range;
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
    throw new StoreError(`invalid range for ${key}: offset ${offset}, length ${length}`, key);
  }
}

export function rangePastEnd(key: string, range: ByteRange, size: number | undefined, cause?: unknown): StoreError {
  const sizeText = size === undefined ? 'the object size' : `size ${size}`;
  return new StoreError(`range past end of ${key}: offset ${range.offset} + length ${range.length} > ${sizeText}`, key, { cause });
}

export function shortRead(key: string, got: number, expected: number, where: string): StoreError {
  return new StoreError(`get ${key} in ${where}: received ${got} bytes, expected ${expected}`, key, { retryable: true });
}

/** "bytes 0-9/1000" -> 1000. */
export function totalFromContentRange(contentRange: string | undefined): number | undefined {
  const m = contentRange === undefined ? null : /\/(\d+)\s*$/.exec(contentRange);
  return m ? Number(m[1]) : undefined;
}

export function destroyBody(body: unknown): void {
  if (body instanceof Readable) body.destroy();
}

/** Reads a response body into one Buffer; an abort destroys the stream so the read ends at once. */
export async function readBody(body: unknown, signal: AbortSignal | undefined): Promise<Buffer> {
  if (body === undefined || body === null) return Buffer.alloc(0);
  if (body instanceof Readable) {
    const onAbort = () => body.destroy(new AbortedError('operation aborted', { cause: signal?.reason }));
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const chunks: Buffer[] = [];
      let total = 0;
      for await (const chunk of body) {
        const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
        chunks.push(buf);
        total += buf.length;
      }
      return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, total);
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }
  const bytes = await (body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray();
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
