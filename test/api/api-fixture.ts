// A local API server over a memory control store and a small engine-made repository, with two tenants.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { backupResource } from '../../core/engine/backup.ts';
import type { BlockProcessor } from '../../core/engine/block-processor.ts';
import { MemoryControlStore } from '../../providers/memory/memory-control-store.ts';
import { TokenAuthenticator } from '../../functions/api/auth.ts';
import { startLocalServer, type LocalServerOptions } from '../../functions/api/local-server.ts';
import { LocalRestoreJobs } from '../../functions/api/restore-jobs.ts';
import { buildApi, type ApiDeps } from '../../functions/api/routes.ts';
import type { Manifest } from '../../core/repo/manifest.ts';
import type { Repository } from '../../core/repo/repository.ts';
import { BufferSnapshotSource } from '../support/buffer-volume.ts';
import { mixedImage } from '../support/images.ts';
import { makeRepo } from '../support/repo-fixture.ts';
import type { ObjectStore } from '../../core/store/object-store.ts';

export const A = '123456789012';
export const B = '210987654321';
export const TOKEN_A = 'a'.repeat(40);
export const TOKEN_B = 'b'.repeat(40);

export async function samplePolicy(account: string): Promise<Record<string, unknown>> {
  const doc = parse(await readFile(new URL('../../policies/123456789012/databases.yaml', import.meta.url), 'utf8')) as Record<string, unknown>;
  return { ...doc, account: { ...(doc.account as object), id: account, roleArn: `arn:aws:iam::${account}:role/CloudkeepBackup` } };
}

/** Extra components for the server (inventory, runner, ...); the store and repository are the fixture's, the restores too unless given. */
export type ExtraDeps = Omit<ApiDeps, 'authenticator' | 'store' | 'repo'>;

export interface FixtureOptions extends LocalServerOptions {
  /** The extra components, or a function making them from the fixture's store and repository (e.g. a runner that records sessions). */
  deps?: ExtraDeps | ((store: MemoryControlStore, repo: Repository) => ExtraDeps);
  /** Wraps the block processor of each restore (tests hold restores back with it). */
  wrapProcessor?: (processor: BlockProcessor) => BlockProcessor;
  /** The repository's object store (default: in memory). */
  objectStore?: ObjectStore;
}

export async function startApi(options: FixtureOptions = {}) {
  const { deps = {}, wrapProcessor, objectStore, ...serverOptions } = options;
  const ctx = await makeRepo({ store: objectStore });
  const source = new BufferSnapshotSource(64 * 1024);
  const image = mixedImage('api', 700 * 1024 + 123);
  /**
   * A restore point of `vol-<account>` (or `resourceId`, of `kind`), full or incremental on `parent`, with
   * one disk `root` or the disks `disks` (each named as its volume), tagged `tags`.
   */
  const backup = async (account: string, point: { resourceId?: string; parent?: Manifest; data?: Buffer; kind?: 'volume' | 'instance'; disks?: string[]; tags?: Record<string, string> } = {}) => {
    const index = await ctx.repo.loadIndex();
    const resource = { id: point.resourceId ?? `vol-${account}`, kind: point.kind ?? 'volume', provider: 'aws', account };
    const disks = (point.disks ?? ['root']).map((name) => ({ name, snapshot: source.snapshot(point.disks ? name : resource.id, point.data ?? image) }));
    return backupResource({ repo: ctx.repo, index, source, processor: ctx.processor }, { resource, parent: point.parent ?? null, disks, tags: point.tags });
  };
  const pointA = await backup(A);
  const pointB = await backup(B);
  const store = new MemoryControlStore();
  const extra = typeof deps === 'function' ? deps(store, ctx.repo) : deps;
  const dir = await mkdtemp(join(tmpdir(), 'cloudkeep-api-'));
  const restoreDir = join(dir, 'restores');
  const restores = new LocalRestoreJobs(ctx.repo, restoreDir, () => (wrapProcessor ? wrapProcessor(ctx.processor) : ctx.processor));
  const authenticator = new TokenAuthenticator({ [TOKEN_A]: { principal: 'alice', accounts: [A] }, [TOKEN_B]: { principal: 'bob', accounts: [B] } });
  const server = await startLocalServer(buildApi({ restores, ...extra, authenticator, store, repo: ctx.repo }), 0, '127.0.0.1', serverOptions);
  const call = async (method: string, path: string, request: { token?: string | null; body?: unknown } = {}) => {
    const token = request.token === undefined ? TOKEN_A : request.token;
    const res = await fetch(`${server.url}${path}`, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(request.body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: request.body === undefined ? undefined : typeof request.body === 'string' ? request.body : JSON.stringify(request.body),
    });
    return { status: res.status, requestIdHeader: res.headers.get('x-request-id'), json: (await res.json()) as Record<string, any> };
  };
  const close = async () => {
    await restores.idle();
    await server.close();
    await rm(dir, { recursive: true, force: true });
  };
  return { call, close, store, image, pointA, pointB, restoreDir, url: server.url, restores, backup, repo: ctx.repo };
}

export type Api = Awaited<ReturnType<typeof startApi>>;
export type Reply = Awaited<ReturnType<Api['call']>>;

/** An error response: status, a message (matching `message`), the request id in body and header, no stack. */
export function assertError(res: Reply, status: number, message?: RegExp): void {
  assert.equal(res.status, status, JSON.stringify(res.json));
  assert.equal(typeof res.json.message, 'string');
  assert.ok(res.json.requestId && res.json.requestId === res.requestIdHeader, 'request id in body and header');
  assert.ok(!/\n\s+at /.test(res.json.message), 'no stack');
  if (message) assert.match(res.json.message, message);
}
