// A temporary directory for one test: made under `root` (the system's temp directory by default), removed afterwards whatever happens.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export async function withTempDir(name: string, fn: (dir: string) => Promise<void>, root = tmpdir()): Promise<void> {
  const dir = await mkdtemp(join(root, name));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
