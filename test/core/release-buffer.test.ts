// releaseBuffer frees a whole buffer of its own at once, and leaves views, pooled and shared memory alone.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { releaseBuffer } from '../../core/util/release-buffer.ts';

it('detaches a buffer that owns its whole ArrayBuffer', () => {
  const own = Buffer.allocUnsafeSlow(64 * 1024);
  releaseBuffer(own);
  assert.equal(own.buffer.detached, true);
  assert.equal(own.length, 0, 'a detached buffer reads as empty, never as stale bytes');
});

it('leaves a view of a larger buffer, a pooled small buffer and shared memory to the collector', () => {
  const whole = Buffer.alloc(8192, 7);
  const view = whole.subarray(0, 4096);
  releaseBuffer(view);
  assert.equal(whole.buffer.detached, false);
  assert.equal(whole[100], 7);
  const pooled = Buffer.from('small');
  releaseBuffer(pooled);
  assert.equal(pooled.toString(), 'small');
  const shared = new Uint8Array(new SharedArrayBuffer(16));
  releaseBuffer(shared);
  assert.equal(shared.length, 16);
});
