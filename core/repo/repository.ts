// A repository opened with its master key: config, keys, index, restore points and tree chunks.
import { z } from 'zod';
import type { Clock } from '../clock.ts';
import { MasterKey } from '../crypto/master-key.ts';
import type { KeyProvider, WrappedKey } from '../crypto/key-provider.ts';
import { CorruptObjectError, InvalidArgumentError, RepositoryNotFoundError, WrongKeyError } from '../errors.ts';
import { exists, listAll, ObjectNotFoundError, type IoOptions, type ObjectStore } from '../store/object-store.ts';
import { CHUNK_KIND, openChunk } from './block-codec.ts';
import { authenticateConfig, createConfig, parseConfig, serializeConfig, type RepoConfig, type RepoParams } from './config.ts';
import { ChunkIndex, decodeIndex, type IndexedChunk } from './index-file.ts';
import { CONFIG_KEY, INDEX_PREFIX, indexKey, KEYS_PREFIX, keyObjectKey, packKey, POINTS_PREFIX, pointKey, randomName } from './layout.ts';
import { decodeManifest, encodeManifest, type Manifest } from './manifest.ts';
import { markedPacks, readMarkers } from './markers.ts';
import { packDataKey } from './pack.ts';
import { openObject, sealObject } from './sealed-object.ts';
import { mapLimit } from '../util/concurrency.ts';

const KeyObjectSchema = z.object({
  id: z.string(),
  createdAt: z.string(),
  provider: z.string(),
  params: z.record(z.string(), z.unknown()),
  wrapped: z.string(),
});
export type KeyObject = z.infer<typeof KeyObjectSchema>;

export class Repository {
  readonly store: ObjectStore;
  readonly config: RepoConfig;
  readonly master: MasterKey;
  readonly clock: Clock;
  constructor(store: ObjectStore, config: RepoConfig, master: MasterKey, clock: Clock) {
    this.store = store;
    this.config = config;
    this.master = master;
    this.clock = clock;
  }

  get params(): RepoParams {
    return this.config.params;
  }

  /** Creates a repository: key object first, config last, so a half-made repository is not a repository. */
  static async init(store: ObjectStore, provider: KeyProvider, params: RepoParams, clock: Clock, options: IoOptions = {}): Promise<Repository> {
    if (await exists(store, CONFIG_KEY, options)) {
      throw new InvalidArgumentError(`${store.description} already holds a repository (found ${CONFIG_KEY}); open it instead of initializing`);
    }
    const master = MasterKey.generate();
    const config = createConfig(master, params, clock.now());
    const repo = new Repository(store, config, master, clock);
    await repo.addKey(provider, options);
    await store.put(CONFIG_KEY, serializeConfig(config), { ...options, kind: 'config' });
    return repo;
  }

  static async readConfig(store: ObjectStore, options: IoOptions = {}): Promise<RepoConfig> {
    let raw: Buffer;
    try {
      raw = await store.get(CONFIG_KEY, options);
    } catch (err) {
      if (err instanceof ObjectNotFoundError) {
        throw new RepositoryNotFoundError(`no Cloudkeep repository at ${store.description} (no ${CONFIG_KEY} object); create one with "cloudkeep repo init"`, { cause: err });
      }
      throw err;
    }
    return parseConfig(raw);
  }

  /** Opens with the first provider that unwraps one of the repository's keys. */
  static async open(store: ObjectStore, providers: KeyProvider[], clock: Clock, options: IoOptions = {}): Promise<Repository> {
    const config = await Repository.readConfig(store, options);
    const keys = await Repository.listKeys(store, options);
    if (keys.length === 0) throw new CorruptObjectError(KEYS_PREFIX, 'the repository has no key objects');
    let lastMismatch: unknown = undefined;
    for (const provider of providers) {
      for (const key of keys) {
        const raw = await provider.unwrap(key, options);
        if (raw === null) continue;
        const master = new MasterKey(raw);
        try {
          authenticateConfig(master, config);
        } catch (err) {
          // A key left by an interrupted earlier init wraps another master key: try the next.
          lastMismatch = err;
          continue;
        }
        return new Repository(store, config, master, clock);
      }
    }
    if (lastMismatch !== undefined) throw lastMismatch;
    const names = [...new Set(keys.map((k) => k.provider))].join(', ');
    throw new WrongKeyError(`none of the ${keys.length} key(s) of ${store.description} (${names}) opens with the given ${providers.map((p) => p.name).join('/') || 'credentials'}: wrong passphrase?`);
  }

  static async listKeys(store: ObjectStore, options: IoOptions = {}): Promise<KeyObject[]> {
    const infos = await listAll(store, KEYS_PREFIX, options);
    return Promise.all(
      infos.map(async (info) => {
        const raw = await store.get(info.key, options);
        try {
          return KeyObjectSchema.parse(JSON.parse(raw.toString('utf8')));
        } catch (err) {
          throw new CorruptObjectError(info.key, 'not a valid key object', { cause: err });
        }
      }),
    );
  }

  async addKey(provider: KeyProvider, options: IoOptions = {}): Promise<KeyObject> {
    const wrapped: WrappedKey = await provider.wrap(this.master.exportRaw(), options);
    const key: KeyObject = { id: randomName(), createdAt: new Date(this.clock.now()).toISOString(), ...wrapped };
    await this.store.put(keyObjectKey(key.id), Buffer.from(JSON.stringify(key, null, 2)), { ...options, kind: 'key' });
    return key;
  }

  async removeKey(id: string, options: IoOptions = {}): Promise<void> {
    const keys = await Repository.listKeys(this.store, options);
    if (!keys.some((k) => k.id === id)) throw new InvalidArgumentError(`no key ${JSON.stringify(id)}; expected one of ${keys.map((k) => k.id).join(', ')}`);
    if (keys.length === 1) throw new InvalidArgumentError(`key ${id} is the repository's last key; add another before removing it`);
    await this.store.delete(keyObjectKey(id), options);
  }

  /** The index for reading: where a chunk has copies, one in a pack no prune has marked is chosen. */
  async loadIndexForRestore(options: IoOptions = {}): Promise<ChunkIndex> {
    return this.loadIndex({ ...options, marked: await markedPacks(this, options) });
  }

  /** Reads every index object into memory. */
  async loadIndex(options: IoOptions & { marked?: Set<string>; exclude?: boolean } = {}): Promise<ChunkIndex> {
    const index = new ChunkIndex({ marked: options.marked, exclude: options.exclude });
    // Prune replaces an index object by writing the new one before deleting the old: when one
    // vanishes between the listing and the read, list again to pick up its replacement.
    const gone = new Set<string>();
    for (let vanished = true; vanished; ) {
      vanished = false;
      const infos = (await listAll(this.store, INDEX_PREFIX, options)).filter((i) => !index.objects.has(i.key) && !gone.has(i.key));
      const loaded = await mapLimit(infos, 8, async (info) => {
        try {
          return [info.key, await this.readIndexPlaintext(info.key, options)] as const;
        } catch (err) {
          if (!(err instanceof ObjectNotFoundError)) throw err;
          gone.add(info.key);
          vanished = true;
          return null;
        }
      });
      for (const entry of loaded) if (entry) index.addEncoded(entry[0], entry[1]);
    }
    return index;
  }

  async readIndexObject(key: string, options: IoOptions = {}): Promise<IndexedChunk[]> {
    return decodeIndex(await this.readIndexPlaintext(key, options), key);
  }

  /** An index object authenticated and decrypted, still encoded (ChunkIndex.addEncoded reads it as it is). */
  async readIndexPlaintext(key: string, options: IoOptions = {}): Promise<Buffer> {
    return openObject(this.master, 'index', key, await this.store.get(key, options));
  }

  /** Puts an index object of `plaintext` (encodeIndex, IndexPart.encode). */
  async writeIndexObject(plaintext: Buffer, options: IoOptions = {}): Promise<string> {
    const key = indexKey(randomName());
    await this.store.put(key, sealObject(this.master, 'index', key, plaintext), { ...options, kind: 'index' });
    return key;
  }

  /** Restore point ids, without points forgotten while their manifests were still locked (named by a marker). */
  async listPointIds(options: IoOptions = {}): Promise<string[]> {
    const infos = await listAll(this.store, POINTS_PREFIX, options);
    const ids = infos.map((i) => i.key.slice(POINTS_PREFIX.length)).sort();
    if (!this.store.capabilities.objectLock) return ids;
    const forgotten = new Set((await readMarkers(this, options)).flatMap((m) => m.points ?? []));
    return ids.filter((id) => !forgotten.has(id));
  }

  async readManifest(id: string, options: IoOptions = {}): Promise<Manifest> {
    const key = pointKey(id);
    let sealed: Buffer;
    try {
      sealed = await this.store.get(key, options);
    } catch (err) {
      if (err instanceof ObjectNotFoundError) throw new InvalidArgumentError(`no restore point ${JSON.stringify(id)} in ${this.store.description}`, { cause: err });
      throw err;
    }
    const m = decodeManifest(openObject(this.master, 'manifest', key, sealed), key);
    if (m.id !== id) throw new CorruptObjectError(key, `manifest names restore point ${m.id}`);
    return m;
  }

  async listManifests(options: IoOptions = {}): Promise<Manifest[]> {
    const ids = await this.listPointIds(options);
    // A point forgotten between the listing and the read is skipped, as if listed a moment later.
    const read = await mapLimit(ids, 8, (id) =>
      this.readManifest(id, options).catch((err: unknown) => {
        if (err instanceof InvalidArgumentError && err.cause instanceof ObjectNotFoundError) return null;
        throw err;
      }),
    );
    return read.filter((m): m is Manifest => m !== null);
  }

  /** The commit point of a backup: written last, under a unique name. */
  async writeManifest(m: Manifest, options: IoOptions = {}): Promise<void> {
    const key = pointKey(m.id);
    await this.store.put(key, sealObject(this.master, 'manifest', key, encodeManifest(m)), { ...options, kind: 'manifest' });
  }

  async deleteManifest(id: string, options: IoOptions = {}): Promise<void> {
    await this.store.delete(pointKey(id), options);
  }

  /** Reads, authenticates and returns one tree chunk (a block map segment). */
  async readTree(index: ChunkIndex, idHex: string, options: IoOptions = {}): Promise<Buffer> {
    const id = Buffer.from(idHex, 'hex');
    const entry = index.get(id);
    if (!entry) throw new CorruptObjectError(`tree ${idHex}`, 'not in any index (missing chunk)');
    const key = packKey(entry.pack.id);
    const sealed = await this.store.get(key, { ...options, range: { offset: entry.offset, length: entry.length } });
    const result = openChunk(sealed, id, CHUNK_KIND.tree, entry.flags, entry.rawLength, packDataKey(this.master, entry.pack.salt), this.master.treeIdKey);
    if (!result.ok) throw new CorruptObjectError(key, `tree chunk ${idHex} at offset ${entry.offset}: ${result.reason}`);
    return result.data;
  }
}
