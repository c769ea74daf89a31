// A local API server over a memory control store and a small engine-made repository, with two tenants.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { backupResource } from '../../core/engine/backup.ts';
import { MemoryControlStore } from '../../providers/memory/memory-control-store.ts';
import { TokenAuthenticator } from '../../functions/api/auth.ts';
import { startLocalServer } from '../../functions/api/local-server.ts';
import { LocalRestoreJobs } from '../../functions/api/restore-jobs.ts';
import { buildApi } from '../../functions/api/routes.ts';
import { BufferSnapshotSource } from '../support/buffer-volume.ts';
import { mixedImage } from '../support/images.ts';
import { makeRepo } from '../support/repo-fixture.ts';

export const A = '123456789012';
export const B = '210987654321';
export const TOKEN_A = 'a'.repeat(40);
export const TOKEN_B = 'b'.repeat(40);

export async function samplePolicy(account: string): Promise<Record<string, unknown>> {
  const doc = parse(await readFile(new URL('../../policies/123456789012/databases.yaml', import.meta.url), 'utf8')) as Record<string, unknown>;
  return { ...doc, account: { ...(doc.account as object), id: account, roleArn: `arn:aws:iam::${account}:role/CloudkeepBackup` } };
}

export async function startApi() {
  const ctx = await makeRepo();
  const source = new BufferSnapshotSource(64 * 1024);
  const image = mixedImage('api', 700 * 1024 + 123);
  const backup = async (account: string) => {
    const index = await ctx.repo.loadIndex();
    const resource = { id: `vol-${account}`, kind: 'volume' as const, provider: 'aws', account };
    return backupResource({ repo: ctx.repo, index, source, processor: ctx.processor }, { resource, disks: [{ name: 'root', snapshot: source.snapshot(resource.id, image) }] });
  };
  const pointA = await backup(A);
  const pointB = await backup(B);
  const store = new MemoryControlStore();
  const dir = await mkdtemp(join(tmpdir(), 'cloudkeep-api-'));
  const restoreDir = join(dir, 'restores');
  const restores = new LocalRestoreJobs(ctx.repo, restoreDir, () => ctx.processor);
  const authenticator = new TokenAuthenticator({ [TOKEN_A]: { principal: 'alice', accounts: [A] }, [TOKEN_B]: { principal: 'bob', accounts: [B] } });
  const server = await startLocalServer(buildApi({ authenticator, store, repo: ctx.repo, restores }));
  const call = async (method: string, path: string, options: { token?: string | null; body?: unknown } = {}) => {
    const token = options.token === undefined ? TOKEN_A : options.token;
    const res = await fetch(`${server.url}${path}`, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: options.body === undefined ? undefined : typeof options.body === 'string' ? options.body : JSON.stringify(options.body),
    });
    return { status: res.status, requestIdHeader: res.headers.get('x-request-id'), json: (await res.json()) as Record<string, any> };
  };
  const close = async () => {
    await restores.idle();
    await server.close();
    await rm(dir, { recursive: true, force: true });
  };
  return { call, close, store, image, pointA, pointB, restoreDir };
}
