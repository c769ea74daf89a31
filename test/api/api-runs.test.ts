// Session logs (recorded and derived) and restores (list, digest, cancel), through HTTP on the local server.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { appendFile, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { asAccountId, asPolicyId, asResourceId } from '../../core/control/control-ids.ts';
import type { BlockProcessor } from '../../core/engine/block-processor.ts';
import { FileSessionLog, MemorySessionLog } from '../../functions/api/session-log.ts';
import { A, assertError, startApi, type Api } from './api-fixture.ts';
import { RecordingRunner, volumePolicy } from './fakes.ts';
import { mixedImage } from '../support/images.ts';

/** A processor whose second open call (openChunks or a newer variant) waits for `gate`; the first lets part of the image reach the file. */
function heldBack(processor: BlockProcessor, gate: Promise<void>): BlockProcessor {
  let calls = 0;
  return new Proxy(processor, {
    get(target, key) {
      const value: unknown = Reflect.get(target, key, target);
      if (typeof value !== 'function') return value;
      if (key === 'close') return async () => {};
      if (typeof key !== 'string' || !key.startsWith('open')) return value.bind(target);
      return async (...args: unknown[]) => {
        if (++calls > 1) await gate;
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

async function until<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  for (let i = 0; i < 500; i++) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('session logs and restores', () => {
  let api: Api;
  let hold: Promise<void> | undefined;
  before(async () => {
    api = await startApi({
      deps: (store) => {
        const sessionLog = new MemorySessionLog();
        return { runner: new RecordingRunner(store, sessionLog), sessionLog };
      },
      wrapProcessor: (p) => {
        const gate = hold;
        hold = undefined;
        return gate ? heldBack(p, gate) : p;
      },
    });
  });
  after(async () => {
    await api.close();
  });

  it('shows the events a run recorded', async () => {
    await api.call('PUT', `/accounts/${A}/policies/volumes`, { body: { expectedVersion: 0, policy: volumePolicy(A) } });
    const { sessionId } = (await api.call('POST', `/accounts/${A}/policies/volumes/run`)).json;
    const res = await api.call('GET', `/accounts/${A}/sessions/${sessionId}/log`);
    assert.equal(res.status, 200, JSON.stringify(res.json));
    const session = await api.store.getSession(asAccountId(A), sessionId);
    assert.deepEqual(res.json.entries, [
      { time: session!.startedAt, level: 'info', message: 'started by hand' },
      { time: session!.startedAt + 5, level: 'error', resourceId: `vol-${A}`, message: 'backup failed: disk gone' },
    ]);
  });

  it('derives the log of a session that recorded none from the session and its tasks', async () => {
    const acc = asAccountId(A);
    const s = await api.store.createSession(acc, asPolicyId('volumes'));
    await api.store.putTask(acc, s.id, { resourceId: asResourceId('vol-1'), status: 'running' });
    await api.store.putTask(acc, s.id, { resourceId: asResourceId('vol-2'), status: 'running' });
    await api.store.updateTask(acc, s.id, asResourceId('vol-1'), { status: 'succeeded', sizes: { storedBytes: 1234 } });
    await api.store.updateTask(acc, s.id, asResourceId('vol-2'), { status: 'failed', error: 'snapshot timed out' });
    await api.store.updateSession(acc, s.id, { status: 'partial', message: '1 of 2 failed' });
    const res = await api.call('GET', `/accounts/${A}/sessions/${s.id}/log`);
    const lines = res.json.entries.map((e: { level: string; resourceId?: string; message: string }) => `${e.level} ${e.resourceId ?? '-'} ${e.message}`);
    assert.deepEqual(lines, [
      'info - session started for policy volumes',
      'info - 2 resource(s) to back up',
      'info vol-1 task started',
      'info vol-2 task started',
      'info vol-1 backup committed (1234 bytes stored)',
      'error vol-2 backup failed: snapshot timed out',
      'warn - session partial: 1 of 2 failed',
    ]);
    assert.ok(res.json.entries.every((e: { time: unknown }) => typeof e.time === 'number'));
    assertError(await api.call('GET', `/accounts/${A}/sessions/000000000-0000000000000000/log`), 404, /no session/);
    assertError(await api.call('GET', `/accounts/${A}/sessions/nope/log`), 400, /session id "nope"/);
  });

  it('keeps session logs in JSON-lines files, skipping a torn last line', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cloudkeep-log-'));
    try {
      const log = new FileSessionLog(dir);
      const id = '0mjv1k2a0-1a2b3c4d5e6f7a8b';
      assert.deepEqual(await log.list(A, id), []);
      await log.append(A, id, { time: 1, level: 'info', message: 'started' });
      await log.append(A, id, { time: 2, level: 'warn', resourceId: 'vol-1', message: 'slow' });
      await appendFile(join(dir, A, `${id}.jsonl`), '{"time":3,"lev');
      assert.deepEqual(await new FileSessionLog(dir).list(A, id), [
        { time: 1, level: 'info', message: 'started' },
        { time: 2, level: 'warn', resourceId: 'vol-1', message: 'slow' },
      ]);
      await assert.rejects(log.append(A, '../escape', { time: 1, level: 'info', message: 'x' }), /session id/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('lists restores newest first; a finished one carries the image digest, bytes written and duration', async () => {
    const ids: string[] = [];
    for (const targetPath of ['one.img', 'two.img']) {
      ids.push((await api.call('POST', `/accounts/${A}/restores`, { body: { pointId: api.pointA.id, targetPath } })).json.restore.id);
      await api.restores.idle();
    }
    const res = await api.call('GET', `/accounts/${A}/restores`);
    assert.equal(res.status, 200);
    assert.deepEqual(res.json.restores.map((r: { id: string }) => r.id), [...ids].reverse());
    const done = res.json.restores[1];
    assert.equal(done.status, 'succeeded');
    assert.equal(done.result.sha256, createHash('sha256').update(api.image).digest('hex'));
    assert.ok(done.result.bytesWritten > 0 && done.result.bytesWritten <= api.image.length);
    assert.equal(typeof done.result.durationMs, 'number');
    assert.ok(done.endedAt >= done.createdAt);
    assertError(await api.call('POST', `/accounts/${A}/restores/${ids[0]}/cancel`), 409, /only a running restore/);
    assertError(await api.call('POST', `/accounts/${A}/restores/nope/cancel`), 404);
  });

  it('cancels a running restore and removes its partial image', async () => {
    const big = mixedImage('cancel', 12 * 1024 * 1024);
    const point = await api.backup(A, { resourceId: 'vol-big', data: big });
    let release!: () => void;
    hold = new Promise<void>((r) => {
      release = r;
    });
    const start = await api.call('POST', `/accounts/${A}/restores`, { body: { pointId: point.id, targetPath: 'big/partial.img' } });
    assert.equal(start.status, 202, JSON.stringify(start.json));
    const target = join(api.restoreDir, 'big', 'partial.img');
    await until('the partial image', async () => ((await stat(target).catch(() => undefined))?.size ? true : undefined));
    // Let the held-back read go on only once the cancel has aborted the restore.
    const cancel = api.restores.cancel.bind(api.restores);
    api.restores.cancel = (account, id) => {
      const cancelled = cancel(account, id);
      release();
      return cancelled;
    };
    const res = await api.call('POST', `/accounts/${A}/restores/${start.json.restore.id}/cancel`);
    assert.equal(res.status, 200, JSON.stringify(res.json));
    assert.deepEqual([res.json.restore.status, res.json.restore.result, res.json.restore.error], ['cancelled', null, null]);
    assert.deepEqual(await readdir(join(api.restoreDir, 'big')), []);
    assert.equal((await api.call('GET', `/accounts/${A}/restores/${start.json.restore.id}`)).json.restore.status, 'cancelled');
  });
});
