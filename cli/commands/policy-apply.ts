// `cloudkeep policy apply`: wires --control and --scheduler to core/policy apply (plan, print, write policies and schedules).
import type { Command } from 'commander';
import type { ControlStore } from '../../core/control/control-store.ts';
import { InvalidArgumentError } from '../../core/errors.ts';
import { applyPlanText, checkTargets } from '../../core/policy/apply.ts';
import { computeApplyPlan, executeApply } from '../../core/policy/apply-execute.ts';
import type { LoadedPolicy } from '../../core/policy/load-policies.ts';
import type { Scheduler } from '../../core/policy/scheduler-port.ts';
import { FileControlStore } from '../../providers/local/file-control-store.ts';
import { LocalScheduler } from '../../providers/local/local-scheduler.ts';
import { emit, type GlobalOptions } from '../context.ts';

const CONTROL_FORMS = 'file:<dir> or dynamodb:<table>?region=<region>';
const SCHEDULER_FORMS = 'aws, aws?region=<region> or local:<dir>';

/** `key=value&...` after a "?" as a map; only `allowed` keys. */
function params(flag: string, text: string, query: string | undefined, allowed: string[]): URLSearchParams {
  const p = new URLSearchParams(query ?? '');
  for (const key of p.keys()) {
    if (!allowed.includes(key)) throw new InvalidArgumentError(`${flag} ${JSON.stringify(text)}: unknown parameter "${key}"; expected ${allowed.join(', ')}`);
  }
  return p;
}

// The AWS SDK clients load only for their own specs: importing them costs every command start-up time.
export async function openControlStore(spec: string): Promise<ControlStore> {
  if (spec.startsWith('file:') && spec.length > 'file:'.length) return new FileControlStore(spec.slice('file:'.length));
  const m = /^dynamodb:([A-Za-z0-9_.-]{3,255})(?:\?(.*))?$/.exec(spec);
  if (m) {
    const p = params('--control', spec, m[2], ['region', 'endpoint']);
    const region = p.get('region') ?? undefined;
    const endpoint = p.get('endpoint') ?? undefined;
    const [{ DynamoDBClient }, { DynamoDbControlStore }] = await Promise.all([import('@aws-sdk/client-dynamodb'), import('../../providers/aws/dynamodb-control-store.ts')]);
    return new DynamoDbControlStore({ client: new DynamoDBClient({ ...(region ? { region } : {}), ...(endpoint ? { endpoint } : {}) }), tableName: m[1] });
  }
  throw new InvalidArgumentError(`--control ${JSON.stringify(spec)}: expected ${CONTROL_FORMS}`);
}

export async function openScheduler(spec: string): Promise<Scheduler> {
  if (spec.startsWith('local:') && spec.length > 'local:'.length) return new LocalScheduler(spec.slice('local:'.length));
  const m = /^aws(?:\?(.*))?$/.exec(spec);
  if (m) {
    const p = params('--scheduler', spec, m[1], ['region', 'endpoint']);
    const { AwsScheduler } = await import('../../providers/aws/aws-scheduler.ts');
    return new AwsScheduler({ region: p.get('region') ?? undefined, endpoint: p.get('endpoint') ?? undefined });
  }
  throw new InvalidArgumentError(`--scheduler ${JSON.stringify(spec)}: expected ${SCHEDULER_FORMS}`);
}

interface ApplyOptions {
  control: string;
  scheduler: string;
  stateMachineArn: string;
  roleArn: string;
  group: string;
  dryRun?: boolean;
}

export function registerApply(policy: Command, globals: () => GlobalOptions, load: (dir: string, g: GlobalOptions) => Promise<LoadedPolicy[]>, defaultDir: string): void {
  policy
    .command('apply')
    .description('store the policies in the control plane and create, update or delete their schedules; idempotent')
    .argument('[dir]', 'policy folder', defaultDir)
    .requiredOption('--control <url>', `control store: ${CONTROL_FORMS}`)
    .requiredOption('--scheduler <spec>', `where schedules live: ${SCHEDULER_FORMS}`)
    .requiredOption('--state-machine-arn <arn>', 'the backup state machine the schedules start')
    .requiredOption('--role-arn <arn>', 'the role EventBridge Scheduler assumes to start it')
    .option('--group <name>', 'schedule group (the CDK control plane creates "cloudkeep")', 'cloudkeep')
    .option('--dry-run', 'print the plan only')
    .action(async (dir: string, o: ApplyOptions) => {
      const g = globals();
      const targets = checkTargets({ stateMachineArn: o.stateMachineArn, roleArn: o.roleArn, groupName: o.group });
      const store = await openControlStore(o.control);
      const scheduler = await openScheduler(o.scheduler);
      const loaded = await load(dir, g);
      const plan = await computeApplyPlan(loaded.map((l) => l.policy), store, scheduler, targets);
      const applied = o.dryRun || plan.changes === 0 ? 0 : await executeApply(plan, store, scheduler);
      emit(g, { dryRun: Boolean(o.dryRun), applied, ...plan }, () => {
        const text = applyPlanText(plan);
        if (plan.changes === 0) return text;
        return `${text}\n${o.dryRun ? 'dry run: nothing changed' : `applied ${applied} change(s) to ${store.description} and ${scheduler.description}`}`;
      });
    });
}
