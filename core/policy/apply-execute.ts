// Runs `policy apply`: reads the control store and scheduler, plans (apply.ts), then writes policies and schedules.
import { ConflictError } from '../control/control-errors.ts';
import { asAccountId, asPolicyId } from '../control/control-ids.ts';
import type { ControlStore } from '../control/control-store.ts';
import { accountsOfSchedules, planApply, type ApplyPlan, type ApplyTargets, type StoredPolicy } from './apply.ts';
import type { Policy } from './policy-schema.ts';
import type { Scheduler } from './scheduler-port.ts';

export interface ApplyIoOptions {
  signal?: AbortSignal;
}

/** Reads what is applied now (policies of every account on disk or named by a schedule) and plans the difference. */
export async function computeApplyPlan(onDisk: readonly Policy[], store: ControlStore, scheduler: Scheduler, targets: ApplyTargets, options: ApplyIoOptions = {}): Promise<ApplyPlan> {
  const existing = await scheduler.list(targets.groupName, options);
  const accounts = new Set([...onDisk.map((p) => p.account.id), ...accountsOfSchedules(existing)]);
  const stored: StoredPolicy[] = [];
  for (const account of [...accounts].sort()) {
    for (const p of await store.listPolicies(asAccountId(account), options)) stored.push({ account: p.account, id: p.id, name: p.name, version: p.version, body: p.body });
  }
  return planApply(onDisk, stored, existing, targets);
}

function conflict(store: ControlStore, account: string, policyId: string, expectedVersion: number) {
  return (err: unknown): never => {
    if (err instanceof ConflictError) {
      const was = expectedVersion === 0 ? 'absent' : `at version ${expectedVersion}`;
      throw new ConflictError(
        `policy ${account}/${policyId} in ${store.description}`,
        `it changed since this apply read it (it was ${was}); someone else applied meanwhile, run "cloudkeep policy apply" again`,
        { cause: err },
      );
    }
    throw err;
  };
}

/**
 * Makes the plan so: creates and updates policies (expecting the versions read), then creates,
 * updates and deletes schedules, then deletes removed policies, so a policy never runs without
 * its stored definition. Returns the number of changes made.
 */
export async function executeApply(plan: ApplyPlan, store: ControlStore, scheduler: Scheduler, options: ApplyIoOptions = {}): Promise<number> {
  let made = 0;
  for (const p of plan.policies) {
    if ((p.action !== 'create' && p.action !== 'update') || !p.body) continue;
    await store.putPolicy(asAccountId(p.account), { id: asPolicyId(p.policyId), name: p.name, body: p.body }, p.expectedVersion, options).catch(conflict(store, p.account, p.policyId, p.expectedVersion));
    made++;
  }
  for (const s of plan.schedules) {
    if (s.action === 'create' && s.spec) await scheduler.create(s.spec, options);
    else if (s.action === 'update' && s.spec) await scheduler.update(s.spec, options);
    else if (s.action === 'delete') await scheduler.delete(s.groupName, s.name, options);
    else continue;
    made++;
  }
  for (const p of plan.policies) {
    if (p.action !== 'delete') continue;
    await store.deletePolicy(asAccountId(p.account), asPolicyId(p.policyId), { ...options, expectedVersion: p.expectedVersion }).catch(conflict(store, p.account, p.policyId, p.expectedVersion));
    made++;
  }
  return made;
}
