// Deletion markers and session leases: how prune and running backups stay safe without locks.
//
// Prune never deletes in the run that decides: it writes a marker naming the packs no restore
// point needs; a later prune, once the marker is older than the safety margin, deletes them
// unless a restore point committed since then uses them. A backup never reuses chunks of marked
// packs, and checks the markers again just before it commits. Running backups hold a lease
// object, so prune leaves alone every pack written since the oldest live lease started.
import { z } from 'zod';
import { CorruptObjectError } from '../errors.ts';
import type { IoOptions } from '../store/object-store.ts';
import { listAll } from '../store/object-store.ts';
import { markerKey, MARKERS_PREFIX, randomName, sessionKey, SESSIONS_PREFIX } from './layout.ts';
import type { Repository } from './repository.ts';
import { openObject, sealObject } from './sealed-object.ts';

const MarkerSchema = z.strictObject({
  createdAt: z.number(),
  /** Packs no restore point referenced when the marker was written. */
  packs: z.array(z.string().regex(/^[0-9a-f]{32}$/)),
  /** Locked repositories only: forgotten restore points whose manifests are still locked (hidden from listings). */
  points: z.array(z.string().regex(/^[0-9A-Za-z._-]+$/)).optional(),
  /** Locked repositories only: replaced index objects still locked, deleted by a later prune. */
  indexes: z.array(z.string().regex(/^index\/[0-9a-f]{32}$/)).optional(),
});
export type Marker = z.infer<typeof MarkerSchema> & { key: string };

export async function writeMarker(repo: Repository, packs: string[], options: IoOptions = {}, held: { points?: string[]; indexes?: string[] } = {}): Promise<Marker> {
  const key = markerKey(`${repo.clock.now()}-${randomName()}`);
  const body: z.infer<typeof MarkerSchema> = { createdAt: repo.clock.now(), packs };
  if (held.points?.length) body.points = held.points;
  if (held.indexes?.length) body.indexes = held.indexes;
  await repo.store.put(key, sealObject(repo.master, 'marker', key, Buffer.from(JSON.stringify(body))), { ...options, kind: 'marker' });
  return { ...body, key };
}

export async function readMarkers(repo: Repository, options: IoOptions = {}): Promise<Marker[]> {
  const infos = await listAll(repo.store, MARKERS_PREFIX, options);
  return Promise.all(
    infos.map(async (info) => {
      const plain = openObject(repo.master, 'marker', info.key, await repo.store.get(info.key, options));
      let parsed;
      try {
        parsed = MarkerSchema.parse(JSON.parse(plain.toString('utf8')));
      } catch (err) {
        throw new CorruptObjectError(info.key, 'not a valid deletion marker', { cause: err });
      }
      return { ...parsed, key: info.key };
    }),
  );
}

export async function markedPacks(repo: Repository, options: IoOptions = {}): Promise<Set<string>> {
  const out = new Set<string>();
  for (const m of await readMarkers(repo, options)) for (const p of m.packs) out.add(p);
  return out;
}

/**
 * A running backup's lease; `refresh` keeps it alive, `release` ends it. A refresh writes a new
 * object and deletes the previous one: the core never overwrites an object (object-lock stores).
 */
export class SessionLease {
  key: string;
  readonly #repo: Repository;
  readonly startedAt: number;
  #timer: NodeJS.Timeout | undefined;
  #refreshFailure: unknown = undefined;
  constructor(repo: Repository) {
    this.#repo = repo;
    this.startedAt = repo.clock.now();
    this.key = this.#newKey();
  }
  #newKey(): string {
    return sessionKey(`${this.startedAt}-${randomName()}`);
  }
  /** The error of the last failed background refresh, if any: the lease may have lapsed. */
  get refreshFailure(): unknown {
    return this.#refreshFailure;
  }
  async start(refreshMs: number, options: IoOptions = {}): Promise<void> {
    await this.#repo.store.put(this.key, Buffer.from(JSON.stringify({ startedAt: this.startedAt })), { ...options, kind: 'marker' });
    this.#timer = setInterval(() => void this.refresh().catch((err: unknown) => void (this.#refreshFailure = err)), refreshMs);
    this.#timer.unref();
  }
  async refresh(options: IoOptions = {}): Promise<void> {
    const previous = this.key;
    const next = this.#newKey();
    await this.#repo.store.put(next, Buffer.from(JSON.stringify({ startedAt: this.startedAt })), { ...options, kind: 'marker' });
    this.key = next;
    this.#refreshFailure = undefined;
    await this.#repo.store.delete(previous, options);
  }
  async release(): Promise<void> {
    clearInterval(this.#timer);
    await this.#repo.store.delete(this.key);
  }
}

/** Deletes leases not refreshed within the margin: left by crashed backups. */
export async function removeExpiredSessions(repo: Repository, marginMs: number, options: IoOptions = {}): Promise<number> {
  let removed = 0;
  for (const info of await listAll(repo.store, SESSIONS_PREFIX, options)) {
    if (info.lastModified >= repo.clock.now() - 2 * marginMs) continue;
    await repo.store.delete(info.key, options);
    removed++;
  }
  return removed;
}

/** Start time of the oldest live lease (refreshed within the margin), or null. */
export async function oldestLiveSession(repo: Repository, marginMs: number, options: IoOptions = {}): Promise<number | null> {
  let oldest: number | null = null;
  for (const info of await listAll(repo.store, SESSIONS_PREFIX, options)) {
    if (info.lastModified < repo.clock.now() - marginMs) continue;
    const started = Number(info.key.slice(SESSIONS_PREFIX.length).split('-')[0]);
    if (Number.isFinite(started) && (oldest === null || started < oldest)) oldest = started;
  }
  return oldest;
}
