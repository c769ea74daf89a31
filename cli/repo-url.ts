// Repository locations: a registry from URL scheme to store, the one place stores are built and decorated.
import { fileURLToPath } from 'node:url';
import { InvalidArgumentError } from '../core/errors.ts';
import type { ObjectStore } from '../core/store/object-store.ts';
import { RetryingObjectStore } from '../core/store/retrying-object-store.ts';
import { ScaleOutObjectStore } from '../core/store/scale-out-store.ts';
import { FileObjectStore } from '../providers/local/file-object-store.ts';
import { parseRepoUrl } from './repo-location.ts';

type StoreFactory = (url: URL) => Promise<ObjectStore>;

// Cloud SDKs load only for their own URLs: importing them costs every command about half a second.
const registry: Record<string, StoreFactory> = {
  'file:': async (url) => new FileObjectStore(fileURLToPath(url)),
  's3:': async (url) => (await import('../providers/aws/s3-object-store.ts')).s3StoreFromUrl(url, process.env),
  'azblob:': async (url) => (await import('../providers/azure/azure-blob-object-store.ts')).azureStoreFromUrl(url, process.env),
  'scaleout:': async (url) => (await import('./scale-out-config.ts')).scaleOutFromFile(url.pathname, openStore),
};

export async function openStore(text: string): Promise<ObjectStore> {
  const url = parseRepoUrl(text);
  const factory = registry[url.protocol];
  if (!factory) {
    const known = Object.keys(registry).map((s) => `${s}//`).join(', ');
    throw new InvalidArgumentError(`unsupported repository URL ${JSON.stringify(text)}: expected one of ${known} or a path`);
  }
  const store = await factory(url);
  // A scale-out store's extents are each opened here, with their own retries.
  return store instanceof ScaleOutObjectStore ? store : new RetryingObjectStore(store);
}
