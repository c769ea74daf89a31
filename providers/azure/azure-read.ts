// Ranged blob reads: argument checks, past-the-end errors, and reading a body of a known length.
import { StoreError } from '../../core/store/object-store.ts';

export function checkRangeArgs(key: string, offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
    throw new StoreError(`invalid range for ${key}: offset ${offset}, length ${length}`, key);
  }
}

export function rangePastEnd(key: string, offset: number, length: number, size: number, cause?: unknown): StoreError {
  return new StoreError(`range past end of ${key}: offset ${offset} + length ${length} > size ${size}`, key, cause === undefined ? {} : { cause });
}

/** "bytes 0-9/1000" -> 1000. */
export function totalFromContentRange(header: string | undefined): number | undefined {
  const match = /\/(\d+)\s*$/.exec(header ?? '');
  return match ? Number(match[1]) : undefined;
}

/** Reads a download body into one buffer of the announced length; a short or long body is a retryable transfer fault. */
export async function readBody(stream: NodeJS.ReadableStream | undefined, expected: number, key: string): Promise<Buffer> {
  const out = Buffer.allocUnsafe(expected);
  let filled = 0;
  if (stream !== undefined) {
    for await (const chunk of stream as AsyncIterable<Buffer | string>) {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      if (filled + bytes.length > expected) throw new StoreError(`get ${key}: the body ran past the announced ${expected} bytes`, key, { retryable: true });
      out.set(bytes, filled);
      filled += bytes.length;
    }
  }
  if (filled !== expected) throw new StoreError(`get ${key}: received ${filled} of ${expected} bytes`, key, { retryable: true });
  return out;
}
