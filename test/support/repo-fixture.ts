// Builds small repositories for engine tests: memory store, fast scrypt, inline processor.
import { ManualClock } from '../../core/clock.ts';
import { InlineBlockProcessor } from '../../core/engine/block-processor.ts';
import { PassphraseKeyProvider } from '../../core/crypto/passphrase-key-provider.ts';
import { DEFAULT_PARAMS, type RepoParams } from '../../core/repo/config.ts';
import { Repository } from '../../core/repo/repository.ts';
import type { ObjectStore } from '../../core/store/object-store.ts';
import { MemoryObjectStore } from '../../providers/memory/memory-object-store.ts';

export const FAST_SCRYPT = { N: 1024, r: 8, p: 1 };
export const SMALL_PARAMS: RepoParams = {
  ...DEFAULT_PARAMS,
  chunking: { blockSize: 64 * 1024, pageSize: 4096, subChunkAverage: 16 * 1024, subChunkMin: 8 * 1024 },
  packTargetSize: 256 * 1024,
};

export function passphrase(text = 'correct horse'): PassphraseKeyProvider {
  return new PassphraseKeyProvider(text, FAST_SCRYPT);
}

export async function makeRepo(options: { store?: ObjectStore; params?: RepoParams; clock?: ManualClock } = {}) {
  const clock = options.clock ?? new ManualClock();
  const store = options.store ?? new MemoryObjectStore({ clock });
  const repo = await Repository.init(store, passphrase(), options.params ?? SMALL_PARAMS, clock);
  const processor = new InlineBlockProcessor({
    chunking: repo.params.chunking,
    compressionLevel: repo.params.compression.level,
    chunkIdKey: repo.master.chunkIdKey,
    treeIdKey: repo.master.treeIdKey,
  });
  return { repo, store, clock, processor };
}
