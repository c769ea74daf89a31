// Tests for toBatches: blocks to read are grouped into full batches across gaps, as runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toBatches } from '../../core/engine/disk-backup.ts';

test('toBatches fills each batch with up to max blocks across gaps and keeps consecutive blocks as one run', () => {
  assert.deepEqual(toBatches([0, 1, 2, 5, 7, 8, 9, 10, 20], 4), [
    [
      [0, 3],
      [5, 1],
    ],
    [[7, 4]],
    [[20, 1]],
  ]);
  assert.deepEqual(toBatches([], 4), []);
  assert.deepEqual(toBatches([3], 1), [[[3, 1]]]);
  const blocks = Array.from({ length: 1000 }, (_, i) => i * 3);
  const batches = toBatches(blocks, 8);
  assert.equal(batches.length, 125);
  assert.deepEqual(
    batches.flatMap((b) => b.flatMap(([s, n]) => Array.from({ length: n }, (_, i) => s + i))),
    blocks,
    'every block exactly once, in order',
  );
});
