// The ControlStore contract suite: every adapter runs it, so the engine can rely on the port's doc comment.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { ManualClock } from '../../core/clock.ts';
import { AbortedError, InvalidArgumentError } from '../../core/errors.ts';
import { ConflictError, ControlNotFoundError, InvalidTransitionError } from '../../core/control/control-errors.ts';
import { asAccountId, asPolicyId, asRegionName, asResourceId, asVolumeId, type SessionId } from '../../core/control/control-ids.ts';
import type { ControlStore, Session, SessionCursor } from '../../core/control/control-store.ts';

export interface ControlFixture {
  store: ControlStore;
  cleanup(): Promise<void>;
}

const A = asAccountId('111111111111');
const B = asAccountId('222222222222');
const P1 = asPolicyId('daily-ebs');
const P2 = asPolicyId('weekly/all');
const REGION = asRegionName('eu-west-1');
const VOL = asVolumeId('vol-0123456789abcdef0');
const ARN = asResourceId('arn:aws:ec2:eu-west-1:111111111111:volume/vol-0123456789abcdef0');

const isError = (type: new (...args: never[]) => Error) => (err: unknown): boolean => {
  assert.ok(err instanceof type, `expected ${type.name}, got ${String(err)}`);
  return true;
};

/** Runs the calls at once; returns how many won and the errors of the rest. */
async function race<T>(calls: Array<() => Promise<T>>): Promise<{ won: T[]; errors: unknown[] }> {
  const results = await Promise.allSettled(calls.map((call) => call()));
  return {
    won: results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : [])),
    errors: results.flatMap((r) => (r.status === 'rejected' ? [r.reason] : [])),
  };
}

function assertOneWinner(result: { won: unknown[]; errors: unknown[] }, loser: new (...args: never[]) => Error): void {
  assert.equal(result.won.length, 1, `expected exactly one winner, got ${result.won.length}: ${result.errors.map(String).join('; ')}`);
  for (const err of result.errors) isError(loser)(err);
}

export function describeControlStoreContract(name: string, make: (clock: ManualClock) => Promise<ControlFixture>): void {
  describe(`ControlStore contract: ${name}`, () => {
    let fixture: ControlFixture;
    let store: ControlStore;
    let clock: ManualClock;
    beforeEach(async () => {
      clock = new ManualClock(Date.UTC(2026, 2, 1));
      fixture = await make(clock);
      store = fixture.store;
    });
    afterEach(async () => {
      await fixture.cleanup();
    });

    /** Sessions created one second apart, oldest first. */
    async function sessions(count: number, policyOf: (i: number) => typeof P1 = () => P1, account = A): Promise<Session[]> {
      const out: Session[] = [];
      for (let i = 0; i < count; i++) {
        out.push(await store.createSession(account, policyOf(i)));
        clock.advance(1000);
      }
      return out;
    }

    async function allPages(limit: number, policyId?: typeof P1): Promise<Session[][]> {
      const pages: Session[][] = [];
      let before: SessionCursor | undefined;
      do {
        const page = await store.listSessions(A, { limit, policyId, before });
        pages.push(page.sessions);
        before = page.next;
      } while (before !== undefined);
      return pages;
    }

    it('describes itself', () => {
      assert.ok(store.description.length > 0);
    });

    describe('policies', () => {
      const input = { id: P1, name: 'Daily EBS', body: { schedule: 'cron(0 3 * * ? *)', keep: { daily: 7 }, note: '', ratio: 0.5 } };

      it('creates at version 1, replaces with the version read, and rejects stale versions', async () => {
        const created = await store.putPolicy(A, input, 0);
        assert.deepEqual(created, { ...input, account: A, version: 1, updatedAt: clock.now() });
        assert.deepEqual(await store.getPolicy(A, P1), created);
        await assert.rejects(store.putPolicy(A, input, 0), isError(ConflictError));
        clock.advance(5);
        const second = await store.putPolicy(A, { ...input, name: 'Renamed' }, 1);
        assert.equal(second.version, 2);
        await assert.rejects(store.putPolicy(A, input, 1), isError(ConflictError));
        await assert.rejects(store.putPolicy(A, { ...input, id: P2 }, 3), isError(ConflictError));
        assert.deepEqual(await store.getPolicy(A, P1), second);
      });

      it('lists the account policies sorted by id and deletes idempotently', async () => {
        await store.putPolicy(A, { ...input, id: P2 }, 0);
        await store.putPolicy(A, input, 0);
        assert.deepEqual((await store.listPolicies(A)).map((p) => p.id), [P1, P2]);
        await assert.rejects(store.deletePolicy(A, P1, { expectedVersion: 2 }), isError(ConflictError));
        await store.deletePolicy(A, P1, { expectedVersion: 1 });
        await store.deletePolicy(A, P1);
        assert.equal(await store.getPolicy(A, P1), undefined);
        assert.deepEqual((await store.listPolicies(A)).map((p) => p.id), [P2]);
        await store.putPolicy(A, input, 0);
      });

      it('rejects bad input with InvalidArgumentError', async () => {
        await assert.rejects(store.putPolicy(A, { ...input, id: 'a#b' as typeof P1 }, 0), isError(InvalidArgumentError));
        await assert.rejects(store.putPolicy(A, input, -1), isError(InvalidArgumentError));
        await assert.rejects(store.putPolicy(A, { ...input, body: [] as never }, 0), isError(InvalidArgumentError));
        await assert.rejects(store.getPolicy('' as typeof A, P1), isError(InvalidArgumentError));
      });

      it('lets exactly one of concurrent puts with the same expected version win', async () => {
        assertOneWinner(await race([1, 2, 3, 4, 5].map((i) => () => store.putPolicy(A, { ...input, name: `c${i}` }, 0))), ConflictError);
        const result = await race([1, 2, 3, 4, 5].map((i) => () => store.putPolicy(A, { ...input, name: `u${i}` }, 1)));
        assertOneWinner(result, ConflictError);
        assert.deepEqual(await store.getPolicy(A, P1), result.won[0]);
      });
    });

    describe('sessions', () => {
      it('creates running sessions with unique ids and the clock time', async () => {
        const [first, second] = await Promise.all([store.createSession(A, P1), store.createSession(A, P1)]);
        assert.notEqual(first.id, second.id);
        assert.equal(first.status, 'running');
        assert.equal(first.startedAt, clock.now());
        assert.equal(first.endedAt, null);
        assert.equal(first.policyId, P1);
        assert.equal(first.account, A);
        assert.deepEqual(await store.getSession(A, first.id), first);
      });

      it('allows running -> final once, then the session is immutable', async () => {
        const [s] = await sessions(1);
        const noted = await store.updateSession(A, s.id, { message: 'reading' });
        assert.equal(noted.status, 'running');
        assert.equal(noted.message, 'reading');
        clock.advance(60_000);
        const done = await store.updateSession(A, s.id, { status: 'partial', message: '1 of 2 volumes' });
        assert.equal(done.endedAt, clock.now());
        assert.deepEqual(await store.getSession(A, s.id), done);
        for (const status of ['running', 'succeeded', 'partial', 'failed', 'cancelled'] as const) {
          await assert.rejects(store.updateSession(A, s.id, { status }), isError(InvalidTransitionError));
        }
        await assert.rejects(store.updateSession(A, s.id, { message: 'edit' }), isError(InvalidTransitionError));
        assert.deepEqual(await store.getSession(A, s.id), done);
      });

      it('rejects unknown sessions and statuses', async () => {
        const [s] = await sessions(1);
        await assert.rejects(store.updateSession(A, '0000000aa-0000000000000000' as SessionId, { status: 'failed' }), isError(ControlNotFoundError));
        await assert.rejects(store.updateSession(A, s.id, { status: 'done' as never }), isError(InvalidArgumentError));
        await assert.rejects(store.getSession(A, 'SESSION#x' as SessionId), isError(InvalidArgumentError));
      });

      it('lets exactly one of concurrent finishing updates win', async () => {
        const [s] = await sessions(1);
        const statuses = ['succeeded', 'failed', 'cancelled', 'partial'] as const;
        const result = await race(statuses.map((status) => () => store.updateSession(A, s.id, { status })));
        assertOneWinner(result, InvalidTransitionError);
        assert.equal((await store.getSession(A, s.id))?.status, result.won[0].status);
      });
    });

    describe('listSessions', () => {
      it('pages newest first with a cursor, and `next` only when more follow', async () => {
        const made = await sessions(7, (i) => (i % 3 === 0 ? P2 : P1));
        const newest = made.map((s) => s.id).reverse();
        const pages = await allPages(3);
        assert.deepEqual(pages.map((p) => p.length), [3, 3, 1]);
        assert.deepEqual(pages.flat().map((s) => s.id), newest);
        assert.deepEqual((await allPages(7)).map((p) => p.length), [7]);
        assert.deepEqual((await allPages(1)).flat().map((s) => s.id), newest);
        const p2 = await allPages(2, P2);
        assert.deepEqual(p2.map((p) => p.length), [2, 1]);
        assert.deepEqual(p2.flat().map((s) => s.id), newest.filter((id) => made.find((s) => s.id === id)?.policyId === P2));
        assert.deepEqual((await allPages(100, P1)).flat().length, 4);
      });

      it('rejects tampered, foreign-account and other-filter cursors', async () => {
        await sessions(3);
        await sessions(3, () => P1, B);
        const { next } = await store.listSessions(A, { limit: 1 });
        assert.ok(next);
        const bad = [
          'garbage!', '', Buffer.from('{"pk":"ACCOUNT#111111111111"}').toString('base64url'),
          next.slice(0, -2), `${next}AA`, Buffer.from(Buffer.from(next, 'base64url').toString().replace('1111', '2222')).toString('base64url'),
        ];
        for (const cursor of bad) {
          await assert.rejects(store.listSessions(A, { limit: 1, before: cursor as SessionCursor }), isError(InvalidArgumentError), cursor);
        }
        await assert.rejects(store.listSessions(B, { limit: 1, before: next }), isError(InvalidArgumentError));
        await assert.rejects(store.listSessions(A, { limit: 1, before: next, policyId: P1 }), isError(InvalidArgumentError));
        await assert.rejects(store.listSessions(A, { limit: 0 }), isError(InvalidArgumentError));
        assert.equal((await store.listSessions(A, { limit: 5, before: next })).sessions.length, 2);
      });
    });

    describe('tasks', () => {
      it('creates once per resource, tracks progress, and freezes when final', async () => {
        const [s, other] = await sessions(2);
        const task = await store.putTask(A, s.id, { resourceId: ARN });
        assert.equal(task.status, 'pending');
        assert.deepEqual(task.progress, { bytesDone: 0, bytesTotal: null });
        await assert.rejects(store.putTask(A, s.id, { resourceId: ARN }), isError(ConflictError));
        await store.putTask(A, s.id, { resourceId: asResourceId('vol-a'), status: 'running' });
        await store.putTask(A, other.id, { resourceId: asResourceId('vol-z') });
        const running = await store.updateTask(A, s.id, ARN, { status: 'running', progress: { bytesDone: 10, bytesTotal: 100 } });
        assert.deepEqual(running.progress, { bytesDone: 10, bytesTotal: 100 });
        await assert.rejects(store.updateTask(A, s.id, ARN, { progress: { bytesDone: 101 } }), isError(InvalidArgumentError));
        await assert.rejects(store.updateTask(A, s.id, ARN, { status: 'pending' }), isError(InvalidTransitionError));
        clock.advance(1000);
        const done = await store.updateTask(A, s.id, ARN, {
          status: 'succeeded', progress: { bytesDone: 100 }, sizes: { sourceBytes: 100, storedBytes: 40 }, bottleneck: 'compress',
        });
        assert.deepEqual([done.sizes, done.bottleneck, done.endedAt, done.error], [{ sourceBytes: 100, storedBytes: 40 }, 'compress', clock.now(), null]);
        await assert.rejects(store.updateTask(A, s.id, ARN, { error: 'late' }), isError(InvalidTransitionError));
        const failed = await store.updateTask(A, s.id, asResourceId('vol-a'), { status: 'failed', error: 'snapshot gone' });
        assert.equal(failed.error, 'snapshot gone');
        assert.deepEqual((await store.listTasks(A, s.id)).map((t) => t.resourceId), [ARN, 'vol-a']);
        assert.deepEqual((await store.listTasks(A, s.id))[0], done);
        assert.deepEqual((await store.listTasks(A, other.id)).map((t) => t.resourceId), ['vol-z']);
        await assert.rejects(store.updateTask(A, s.id, asResourceId('vol-missing'), { status: 'running' }), isError(ControlNotFoundError));
      });

      it('lets exactly one of concurrent claims and finishes win', async () => {
        const [s] = await sessions(1);
        assertOneWinner(await race([1, 2, 3].map(() => () => store.putTask(A, s.id, { resourceId: ARN, status: 'running' }))), ConflictError);
        const finishes = (['succeeded', 'failed', 'cancelled'] as const).map((status) => () => store.updateTask(A, s.id, ARN, { status }));
        assertOneWinner(await race(finishes), InvalidTransitionError);
      });
    });

    describe('volume state', () => {
      it('compare-and-sets on the previous base snapshot', async () => {
        assert.equal(await store.getVolumeState(A, REGION, VOL), undefined);
        await assert.rejects(store.setVolumeState(A, REGION, VOL, { baseSnapshotId: 'snap-1', lastRestorePointId: 'rp-1' }, 'snap-0'), isError(ConflictError));
        const first = await store.setVolumeState(A, REGION, VOL, { baseSnapshotId: 'snap-1', lastRestorePointId: 'rp-1' }, null);
        assert.deepEqual(first, { account: A, region: REGION, volumeId: VOL, baseSnapshotId: 'snap-1', lastRestorePointId: 'rp-1', updatedAt: clock.now() });
        await assert.rejects(store.setVolumeState(A, REGION, VOL, { baseSnapshotId: 'snap-2', lastRestorePointId: 'rp-2' }, null), isError(ConflictError));
        await assert.rejects(store.setVolumeState(A, REGION, VOL, { baseSnapshotId: 'snap-2', lastRestorePointId: 'rp-2' }, 'snap-0'), isError(ConflictError));
        const second = await store.setVolumeState(A, REGION, VOL, { baseSnapshotId: 'snap-2', lastRestorePointId: 'rp-2' }, 'snap-1');
        assert.deepEqual(await store.getVolumeState(A, REGION, VOL), second);
        assert.equal(await store.getVolumeState(A, asRegionName('us-east-1'), VOL), undefined);
      });

      it('lets exactly one of two workers advance from the same base', async () => {
        await store.setVolumeState(A, REGION, VOL, { baseSnapshotId: 'snap-1', lastRestorePointId: 'rp-1' }, null);
        const result = await race(['a', 'b', 'c'].map((w) => () => store.setVolumeState(A, REGION, VOL, { baseSnapshotId: `snap-${w}`, lastRestorePointId: `rp-${w}` }, 'snap-1')));
        assertOneWinner(result, ConflictError);
        assert.deepEqual(await store.getVolumeState(A, REGION, VOL), result.won[0]);
      });
    });

    describe('worker slots', () => {
      const MIN = 60_000;
      it('grants up to the limit across sessions, renews a holder, frees released and expired leases', async () => {
        assert.equal(await store.acquireWorkerSlot(A, 's1/vol-1', 2, 10 * MIN), true);
        assert.equal(await store.acquireWorkerSlot(A, 's2/vol-9', 2, 10 * MIN), true);
        assert.equal(await store.acquireWorkerSlot(A, 's1/vol-2', 2, 10 * MIN), false, 'both slots are taken');
        assert.equal(await store.acquireWorkerSlot(A, 's1/vol-1', 2, 10 * MIN), true, 'a holder renews its own lease');
        assert.equal(await store.acquireWorkerSlot(B, 's3/vol-1', 2, 10 * MIN), true, 'accounts have their own slots');
        await store.releaseWorkerSlots(A, { holder: 's2/vol-9' });
        await store.releaseWorkerSlots(A, { holder: 's2/vol-9' });
        assert.equal(await store.acquireWorkerSlot(A, 's1/vol-2', 2, 10 * MIN), true, 'a released slot is free again');
        await store.releaseWorkerSlots(A, { sessionId: 's1' });
        assert.equal(await store.acquireWorkerSlot(A, 's4/a', 2, MIN), true);
        assert.equal(await store.acquireWorkerSlot(A, 's4/b', 2, MIN), true);
        assert.equal(await store.acquireWorkerSlot(A, 's5/a', 2, MIN), false);
        clock.advance(MIN + 1);
        assert.equal(await store.acquireWorkerSlot(A, 's5/a', 2, MIN), true, 'leases of runs that died expire');
      });
      it('grants exactly `limit` of many concurrent acquires', async () => {
        const result = await race(Array.from({ length: 6 }, (_, i) => async () => {
          if (!(await store.acquireWorkerSlot(A, `s/vol-${i}`, 3, MIN))) throw new ConflictError('slot', 'no free slot');
        }));
        assert.equal(result.won.length, 3, result.errors.map(String).join('; '));
      });
      it('rejects a bad limit, lease or holder, naming the value', async () => {
        await assert.rejects(store.acquireWorkerSlot(A, 's/x', 0, MIN), /limit 0/);
        await assert.rejects(store.acquireWorkerSlot(A, 's/x', 1, -5), /lease -5 ms/);
        await assert.rejects(store.acquireWorkerSlot(A, '', 1, MIN), /holder ""/);
      });
    });

    it('never shows one account the items of another', async () => {
      await store.putPolicy(A, { id: P1, name: 'a', body: {} }, 0);
      const [s] = await sessions(2);
      await store.putTask(A, s.id, { resourceId: ARN });
      await store.setVolumeState(A, REGION, VOL, { baseSnapshotId: 'snap-1', lastRestorePointId: 'rp-1' }, null);
      assert.equal(await store.getPolicy(B, P1), undefined);
      assert.deepEqual(await store.listPolicies(B), []);
      assert.equal(await store.getSession(B, s.id), undefined);
      assert.deepEqual(await store.listSessions(B, { limit: 10 }), { sessions: [] });
      assert.deepEqual(await store.listSessions(B, { limit: 10, policyId: P1 }), { sessions: [] });
      assert.deepEqual(await store.listTasks(B, s.id), []);
      assert.equal(await store.getVolumeState(B, REGION, VOL), undefined);
      await assert.rejects(store.updateSession(B, s.id, { status: 'failed' }), isError(ControlNotFoundError));
      await assert.rejects(store.updateTask(B, s.id, ARN, { status: 'failed' }), isError(ControlNotFoundError));
      // B creating the same policy id and volume is independent of A.
      assert.equal((await store.putPolicy(B, { id: P1, name: 'b', body: {} }, 0)).version, 1);
      await store.setVolumeState(B, REGION, VOL, { baseSnapshotId: 'snap-b', lastRestorePointId: 'rp-b' }, null);
      assert.equal((await store.getPolicy(A, P1))?.name, 'a');
      assert.equal((await store.getVolumeState(A, REGION, VOL))?.baseSnapshotId, 'snap-1');
      assert.equal((await store.getSession(A, s.id))?.status, 'running');
    });

    it('fails with AbortedError when the signal is aborted', async () => {
      const signal = AbortSignal.abort();
      await assert.rejects(store.getPolicy(A, P1, { signal }), isError(AbortedError));
      await assert.rejects(store.createSession(A, P1, { signal }), isError(AbortedError));
      await assert.rejects(store.listSessions(A, { limit: 1, signal }), isError(AbortedError));
      assert.deepEqual(await store.listSessions(A, { limit: 1 }), { sessions: [] });
    });
  });
}
