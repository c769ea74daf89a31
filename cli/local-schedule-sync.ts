// Policies saved through the local API (the console's editor, enable, disable) get their local schedules
// as `cloudkeep policy apply` makes them, so the schedule loop (local-schedule-loop.ts) runs them too.
import type { ControlStore, Policy as StoredPolicy } from '../core/control/control-store.ts';
import { desiredSchedules, scheduleName, type RunKind } from '../core/policy/apply.ts';
import { parsePolicy } from '../core/policy/policy-schema.ts';
import type { Scheduler } from '../core/policy/scheduler-port.ts';
import { LOCAL_TARGETS } from './local-plane.ts';

const RUN_KINDS: readonly RunKind[] = ['snapshots', 'backup'];

/** Creates, updates (DISABLED for a disabled policy) or deletes the stored policy's schedules. */
export async function syncPolicySchedules(scheduler: Scheduler, stored: Pick<StoredPolicy, 'id' | 'body'>): Promise<void> {
  const wanted = desiredSchedules(parsePolicy(stored.body, `policy ${stored.id}`), LOCAL_TARGETS);
  for (const run of RUN_KINDS) {
    const name = scheduleName(stored.id, run);
    const spec = wanted.find((s) => s.name === name);
    if (spec) await scheduler.update(spec);
    else await scheduler.delete(LOCAL_TARGETS.groupName, name);
  }
}

/**
 * `store` for the local API: after each putPolicy the policy's schedules follow it (a failure to write
 * them is logged; the policy stays saved). Every other call goes to `store` unchanged.
 */
export function withScheduleSync(store: ControlStore, scheduler: Scheduler, log: (line: string) => void): ControlStore {
  const putPolicy: ControlStore['putPolicy'] = async (...args) => {
    const saved = await store.putPolicy(...args);
    await syncPolicySchedules(scheduler, saved).catch((err: unknown) => log(`schedules of policy ${saved.id} not updated: ${(err as Error).message}`));
    return saved;
  };
  return new Proxy(store, {
    get(target, prop) {
      if (prop === 'putPolicy') return putPolicy;
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}
