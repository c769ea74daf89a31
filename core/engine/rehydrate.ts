// Rehydration before a restore: asks a tiered store to make the archived packs a restore point needs readable, and waits.
import { setTimeout as delay } from 'node:timers/promises';
import type { Clock } from '../clock.ts';
import { AbortedError, CloudkeepError, CorruptObjectError, throwIfAborted } from '../errors.ts';
import { collectReferences } from '../maintenance/referenced.ts';
import { ChunkIndex } from '../repo/index-file.ts';
import { packKey } from '../repo/layout.ts';
import type { Manifest } from '../repo/manifest.ts';
import type { Repository } from '../repo/repository.ts';
import { isObjectTiering, ObjectArchivedError, UnsupportedOperationError, type ObjectTiering, type RehydratePriority } from '../store/object-store.ts';
import { mapLimit } from '../util/concurrency.ts';

export interface RehydrateProgress {
  /** 'trees': the packs holding the block maps (read first to learn the rest); 'data': every pack the point needs. */
  phase: 'trees' | 'data';
  /** Packs readable now, of those known to be needed so far. */
  ready: number;
  needed: number;
  /** Rehydrations asked for so far. */
  requested: number;
}

export interface RehydratePointOptions {
  /** S3: days the restored copy stays readable (cover the restore itself). */
  days: number;
  priority: RehydratePriority;
  /** Time between polls of the packs still archived. Default 10 minutes. */
  pollMs?: number;
  /** Give up after this long with RehydrateTimeoutError (requests stay in effect). Default 72 hours. */
  timeoutMs?: number;
  onProgress?: (progress: RehydrateProgress) => void;
  signal?: AbortSignal;
  /** Default the repository's clock. */
  clock?: Clock;
  /** Default a real, abortable timer. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export interface RehydrateResult {
  packsNeeded: number;
  /** Packs that were archived when first checked. */
  packsArchived: number;
  requested: number;
  polls: number;
  waitedMs: number;
}

/** Rehydration did not finish in time; the requests stay in effect, so running again later continues. */
export class RehydrateTimeoutError extends CloudkeepError {
  constructor(message: string) {
    super(message, { retryable: true });
    this.name = 'RehydrateTimeoutError';
  }
}

/** Makes every pack of the restore point readable: tree packs first, then the data packs their block maps name. */
export async function rehydratePoint(repo: Repository, index: ChunkIndex, manifest: Manifest, options: RehydratePointOptions): Promise<RehydrateResult> {
  const store = repo.store;
  if (!isObjectTiering(store)) throw new UnsupportedOperationError(`rehydrate restore point ${manifest.id}: ${store.description} has no storage tiers`);
  const clock = options.clock ?? repo.clock;
  const started = clock.now();
  const run = new Run(store, manifest.id, options, clock, started);
  await run.ensureReadable('trees', treePacksOf(index, manifest));
  const refs = await collectReferences(repo, index, [manifest], { signal: options.signal });
  if (refs.problems.length > 0) throw new CorruptObjectError(refs.problems[0].key, refs.problems[0].problem);
  await run.ensureReadable('data', packsOf(index, refs.chunks.keys(), manifest.id));
  return { packsNeeded: run.needed.size, packsArchived: run.archived, requested: run.requested, polls: run.polls, waitedMs: clock.now() - started };
}

/** The user-facing message for a restore that met an archived pack without --rehydrate. */
export function archivedRestoreMessage(err: ObjectArchivedError, pointId: string): string {
  return `restore point ${pointId} needs ${err.key}, which is in an archive storage tier and not rehydrated: ` +
    'run the restore again with --rehydrate [days] to rehydrate its packs first (this can take hours; the copies stay readable for the given days)';
}

/** The packs holding the point's block and stream maps (read first: they name every other chunk). */
export function treePacksOf(index: ChunkIndex, manifest: Manifest): Set<string> {
  const trees = [...(manifest.streams ?? []).flatMap((s) => s.segments), ...manifest.disks.flatMap((d) => d.segments.filter((id): id is string => id !== null))];
  return packsOf(index, trees.map((id) => ChunkIndex.keyOf(Buffer.from(id, 'hex'))), manifest.id);
}

/** The packs holding the given chunks (index keys); CorruptObjectError for a chunk in no index. */
export function packsOf(index: ChunkIndex, chunkKeys: Iterable<string>, pointId: string): Set<string> {
  const packs = new Set<string>();
  for (const key of chunkKeys) {
    const entry = index.get(Buffer.from(key, 'latin1'));
    if (!entry) throw new CorruptObjectError(`chunk ${Buffer.from(key, 'latin1').toString('hex')}`, `restore point ${pointId} references a chunk in no index`);
    packs.add(entry.pack.id);
  }
  return packs;
}

class Run {
  readonly needed = new Set<string>();
  readonly ready = new Set<string>();
  archived = 0;
  requested = 0;
  polls = 0;
  readonly #store: ObjectTiering;
  readonly #pointId: string;
  readonly #o: RehydratePointOptions;
  readonly #clock: Clock;
  readonly #started: number;
  readonly #sleep: (ms: number, signal?: AbortSignal) => Promise<void>;

  constructor(store: ObjectTiering, pointId: string, options: RehydratePointOptions, clock: Clock, started: number) {
    this.#store = store;
    this.#pointId = pointId;
    this.#o = options;
    this.#clock = clock;
    this.#started = started;
    this.#sleep = options.sleep ?? abortableSleep;
  }

  /** Checks each new pack, asks for the archived ones, then polls until all are readable. */
  async ensureReadable(phase: RehydrateProgress['phase'], packs: Set<string>): Promise<void> {
    const fresh = [...packs].filter((p) => !this.needed.has(p));
    for (const p of fresh) this.needed.add(p);
    const firstArchived = await this.#check(fresh);
    this.archived += firstArchived;
    this.#report(phase);
    const timeoutMs = this.#o.timeoutMs ?? 72 * 60 * 60 * 1000;
    for (;;) {
      const waiting = [...packs].filter((p) => !this.ready.has(p));
      if (waiting.length === 0) return;
      if (this.#clock.now() - this.#started >= timeoutMs) {
        throw new RehydrateTimeoutError(
          `rehydrating restore point ${this.#pointId}: ${waiting.length} of ${this.needed.size} packs still archived after ${Math.round(timeoutMs / 60_000)} minutes ` +
            `(first ${packKey(waiting[0])}); the requests stay in effect: run again later`,
        );
      }
      await this.#sleep(this.#o.pollMs ?? 10 * 60 * 1000, this.#o.signal);
      this.polls++;
      await this.#check(waiting);
      this.#report(phase);
    }
  }

  /** tierOf for each pack: readable ones are ready; archived ones not yet rehydrating get a request. Returns how many were archived. */
  async #check(packs: string[]): Promise<number> {
    const { signal, days, priority } = this.#o;
    const archived = await mapLimit(packs, 8, async (pack) => {
      throwIfAborted(signal);
      const key = packKey(pack);
      const state = await this.#store.tierOf(key, { signal });
      if (!state.archived) {
        this.ready.add(pack);
        return false;
      }
      // Also re-asks when an earlier request lapsed (or a restored copy expired) before the read.
      if (!state.rehydrating) {
        await this.#store.requestRehydrate(key, { days, priority, signal });
        this.requested++;
      }
      return true;
    });
    return archived.filter(Boolean).length;
  }

  #report(phase: RehydrateProgress['phase']): void {
    this.#o.onProgress?.({ phase, ready: this.ready.size, needed: this.needed.size, requested: this.requested });
  }
}

async function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  try {
    await delay(ms, undefined, { signal });
  } catch (err) {
    if (signal?.aborted) throw new AbortedError('rehydration wait aborted', { cause: signal.reason });
    throw err;
  }
}
