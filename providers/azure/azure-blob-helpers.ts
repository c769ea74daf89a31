// Small checks and helpers of the Azure Blob store: key prefix, immutability, sizes, MD5.
import { createHash } from 'node:crypto';
import { InvalidArgumentError } from '../../core/errors.ts';
import { assertValidKey } from '../../core/store/object-store.ts';
import type { AzureImmutability } from './azure-blob-object-store.ts';

/** Accepts "", "a/b" or "a/b/"; returns "" or "a/b/". */
export function normalizePrefix(prefix: string): string {
  const trimmed = prefix.replace(/\/+$/, '');
  if (trimmed === '') return '';
  if (!isValidKey(trimmed)) throw new InvalidArgumentError(`invalid key prefix ${JSON.stringify(prefix)}: expected '/'-separated segments of [A-Za-z0-9._-]`);
  return `${trimmed}/`;
}

export function validateImmutability(value: AzureImmutability): void {
  if (!Number.isSafeInteger(value.days) || value.days < 1 || value.days > 146000) {
    throw new InvalidArgumentError(`immutability days ${value.days}: expected a whole number of days from 1 to 146000`);
  }
  if (value.mode !== 'Unlocked' && value.mode !== 'Locked') {
    throw new InvalidArgumentError(`immutability mode ${JSON.stringify(value.mode)}: expected Unlocked or Locked`);
  }
}

export function positiveInt(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 1) throw new InvalidArgumentError(`${name} must be a positive integer, got ${value}`);
  return value;
}

export function isValidKey(key: string): boolean {
  try {
    assertValidKey(key);
    return true;
  } catch {
    return false;
  }
}

export function md5(data: Uint8Array): Buffer {
  return createHash('md5').update(data).digest();
}
