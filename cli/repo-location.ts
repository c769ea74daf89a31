// Repository locations as URLs (no store code: the CLI reads them before its modules load).
import { resolve } from 'node:path';
import { InvalidArgumentError } from '../core/errors.ts';

/** Accepts `file:///path`, `s3://bucket/prefix?region=…`, `azblob://account/container/prefix`, `scaleout:/extents.json`, or a plain path. */
export function parseRepoUrl(text: string): URL {
  if (!text) throw new InvalidArgumentError('no repository given: pass --repo <url> or set CLOUDKEEP_REPOSITORY (e.g. file:///var/backups/repo)');
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) return new URL(text);
  if (text.startsWith('scaleout:')) return new URL(`scaleout:${resolve(text.slice('scaleout:'.length))}`);
  return new URL(`file://${resolve(text)}`);
}

/** A passphrase file's text as the passphrase: without one trailing line break. */
export const passphraseFromFile = (text: string): string => text.replace(/\r?\n$/, '');
