// Parses azblob://account/container/prefix?endpoint=..&tier.<kind>=..&immutable=<days>:<mode> into store options.
import { StorageSharedKeyCredential } from '@azure/storage-blob';
import { InvalidArgumentError } from '../../core/errors.ts';
import type { ObjectKind } from '../../core/store/object-store.ts';
import type { AzureBlobStoreOptions, AzureImmutability } from './azure-blob-object-store.ts';
import { AZURE_TIERS, checkAccessTiers, type AzureAccessTier } from './azure-tiering.ts';

/** Environment variables read: AZURE_STORAGE_KEY (a shared key; otherwise DefaultAzureCredential's own variables). */
export type AzureEnv = Readonly<Record<string, string | undefined>>;

const KINDS: readonly ObjectKind[] = ['config', 'key', 'pack', 'tree-pack', 'index', 'manifest', 'marker'];
const MODES: ReadonlyArray<AzureImmutability['mode']> = ['Unlocked', 'Locked'];
const EXAMPLE = 'azblob://<account>/<container>/<prefix>';

/**
 * Reads the location and options of an Azure Blob repository. Credentials never come from the URL:
 * AZURE_STORAGE_KEY in env gives a shared key, otherwise DefaultAzureCredential is used (credential left unset).
 */
export function parseAzureStoreUrl(url: URL, env: AzureEnv = {}): AzureBlobStoreOptions {
  const shown = redacted(url);
  if (url.protocol !== 'azblob:') throw new InvalidArgumentError(`unsupported URL ${shown}: expected ${EXAMPLE}`);
  if (url.username !== '' || url.password !== '') {
    throw new InvalidArgumentError(`repository URL ${shown} carries credentials: they are never read from the URL; set AZURE_STORAGE_KEY or sign in for DefaultAzureCredential`);
  }
  if (url.hash !== '') throw new InvalidArgumentError(`repository URL ${shown} has a fragment ("#..."): expected ${EXAMPLE}`);
  const account = decodeURIComponent(url.hostname);
  if (!/^[a-z0-9]{3,24}$/.test(account)) {
    throw new InvalidArgumentError(`storage account ${JSON.stringify(account)} in ${shown}: expected 3 to 24 lowercase letters and digits`);
  }
  const [container = '', ...rest] = url.pathname.replace(/^\//, '').split('/').map(decodeURIComponent);
  if (container === '') throw new InvalidArgumentError(`no container in ${shown}: expected ${EXAMPLE}`);
  if (!/^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$/.test(container)) {
    throw new InvalidArgumentError(`container ${JSON.stringify(container)} in ${shown}: expected 3 to 63 lowercase letters, digits and single hyphens, starting and ending with a letter or digit`);
  }
  while (rest.length > 0 && rest[rest.length - 1] === '') rest.pop(); // a trailing slash is harmless
  const prefix = rest.join('/');
  if (prefix !== '' && !rest.every((part) => /^[A-Za-z0-9._-]+$/.test(part) && part !== '.' && part !== '..')) {
    throw new InvalidArgumentError(`prefix ${JSON.stringify(prefix)} in ${shown}: expected '/'-separated segments of [A-Za-z0-9._-]`);
  }

  const options: AzureBlobStoreOptions = { account, container, prefix };
  const accessTiers: Partial<Record<ObjectKind, AzureAccessTier>> = {};
  const seen = new Set<string>();
  for (const [name, value] of url.searchParams) {
    if (seen.has(name)) throw new InvalidArgumentError(`parameter ${name} appears twice in ${shown}`);
    seen.add(name);
    if (name === 'endpoint') options.endpoint = parseEndpoint(value);
    else if (name === 'immutable') options.immutability = parseImmutable(value);
    else if (name.startsWith('tier.')) {
      const kind = name.slice('tier.'.length) as ObjectKind;
      if (!KINDS.includes(kind)) throw new InvalidArgumentError(`parameter ${name}: unknown object kind ${JSON.stringify(kind)}, expected tier.<${KINDS.join('|')}>`);
      accessTiers[kind] = pick(AZURE_TIERS, value, `parameter ${name}`);
    } else {
      throw new InvalidArgumentError(`unknown parameter ${JSON.stringify(name)} in ${shown}: expected endpoint, tier.<kind> or immutable`);
    }
  }
  if (Object.keys(accessTiers).length > 0) options.accessTiers = checkAccessTiers(accessTiers);
  const key = env.AZURE_STORAGE_KEY;
  if (key !== undefined && key !== '') options.credential = new StorageSharedKeyCredential(account, key);
  return options;
}

function parseEndpoint(value: string): string {
  let endpoint: URL;
  try {
    endpoint = new URL(value);
  } catch (err) {
    throw new InvalidArgumentError(`parameter endpoint: ${JSON.stringify(value)} is not a URL; expected e.g. https://<account>.blob.core.windows.net`, { cause: err });
  }
  if (endpoint.protocol !== 'https:' && endpoint.protocol !== 'http:') {
    throw new InvalidArgumentError(`parameter endpoint: expected an http(s) URL, got protocol ${endpoint.protocol}`);
  }
  if (endpoint.username !== '' || endpoint.password !== '' || endpoint.search !== '' || endpoint.hash !== '') {
    // A SAS token or user info here would end up in logs and messages.
    throw new InvalidArgumentError('parameter endpoint: expected a plain service URL without user info, query (no SAS tokens) or fragment');
  }
  return endpoint.href.replace(/\/+$/, '');
}

function parseImmutable(value: string): AzureImmutability {
  const match = /^(\d+)(?::([A-Za-z]+))?$/.exec(value);
  if (match === null) throw new InvalidArgumentError(`parameter immutable: ${JSON.stringify(value)}, expected <days>[:Unlocked|Locked], e.g. 30:Unlocked`);
  const days = Number(match[1]);
  if (!Number.isSafeInteger(days) || days < 1 || days > 146000) {
    throw new InvalidArgumentError(`parameter immutable: ${days} days, expected a whole number of days from 1 to 146000`);
  }
  return { days, mode: match[2] === undefined ? 'Unlocked' : pick(MODES, match[2], 'parameter immutable') };
}

/** Case-insensitive choice from a fixed list, returned in its canonical spelling. */
function pick<T extends string>(choices: readonly T[], value: string, what: string): T {
  const found = choices.find((c) => c.toLowerCase() === value.toLowerCase());
  if (found === undefined) throw new InvalidArgumentError(`${what}: ${JSON.stringify(value)}, expected one of ${choices.join(', ')}`);
  return found;
}

/** The URL for messages, without user info (which is refused anyway). */
function redacted(url: URL): string {
  if (url.username === '' && url.password === '') return url.href;
  const copy = new URL(url.href);
  copy.username = '';
  copy.password = '';
  return copy.href;
}
