// Files of local restores: the target inside the restore directory, its digest, and removal of partial images.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { isAbsolute, relative, resolve } from 'node:path';
import { InvalidArgumentError } from '../../core/errors.ts';

/** The absolute target inside `restoreDir`; InvalidArgumentError for anything outside it. */
export function restoreTarget(restoreDir: string, path: string): string {
  const target = resolve(restoreDir, path);
  const rel = relative(restoreDir, target);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel) || path.includes('\0')) {
    throw new InvalidArgumentError(`targetPath ${JSON.stringify(path)}: expected a file path inside the server's restore directory`);
  }
  return target;
}

/** Hex SHA-256 of a file's content. */
export async function sha256File(path: string, signal?: AbortSignal): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { signal })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Removes a partial image; a missing one is fine. */
export async function removePartial(path: string): Promise<void> {
  await rm(path, { force: true });
}
