// The backup policy model: a strict zod schema, its Policy type, and parsePolicy for untrusted input.
import { z } from 'zod';
import { keepsSomething, retentionPolicySchema, type RetentionPolicy } from '../retention/retention-policy.ts';
import { crossCheckPolicy } from './policy-checks.ts';
import { describeValue, issuesToProblems, PolicyValidationError, type PolicyProblem } from './policy-issues.ts';
import { scheduleProblem, timeZoneProblem } from './schedule.ts';
import { AWS_ACCOUNT_ID, AZURE_SUBSCRIPTION_ID, REPOSITORY_SCHEMES, RESOURCE_TYPES } from './vocabulary.ts';

export { nextRuns } from './schedule.ts';
export * from './vocabulary.ts';
export { PolicyValidationError, type PolicyProblem } from './policy-issues.ts';

const ROLE_ARN = /^arn:aws(-cn|-us-gov)?:iam::\d{12}:role\/[\w+=,.@\/-]{1,512}$/;
const SLUG = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

type Err = { code?: string; input?: unknown };
const expected = (what: string) => (issue: Err) =>
  issue.code === 'invalid_type' ? `expected ${what}, got ${describeValue(issue.input)}` : `${describeValue(issue.input)} is not ${what}`;

/** A string that must match `pattern`; messages name the value and `what` was expected. */
const text = (what: string, pattern?: RegExp) => {
  const s = z.string({ error: expected(what) }).min(1, { error: expected(what) });
  return pattern ? s.regex(pattern, { error: expected(what) }) : s;
};

/** An object that rejects unknown keys, naming the fields it accepts. */
function strict<T extends z.core.$ZodLooseShape>(shape: T) {
  const keys = Object.keys(shape).join(', ');
  return z.strictObject(shape, {
    error: (issue) => {
      if (issue.code === 'unrecognized_keys') return `unknown field; expected one of ${keys}`;
      if (issue.code === 'invalid_type') return `expected an object with fields ${keys}, got ${describeValue(issue.input)}`;
      return undefined;
    },
  });
}

const stringMap = (what: string) =>
  z.record(text('a tag key'), z.string({ error: expected('a string tag value') }), { error: expected(`a map of ${what}`) });

const schedule = z
  .string({ error: expected('a schedule: 5-field cron or rate(N minutes|hours|days)') })
  .superRefine((value, ctx) => {
    const problem = scheduleProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  })
  .describe('5-field cron (minute hour day month weekday) or rate(N minutes|hours|days)');

const timeZone = z
  .string({ error: expected('an IANA time zone name') })
  .superRefine((value, ctx) => {
    const problem = timeZoneProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  })
  .describe('IANA time zone name, e.g. Europe/Berlin');

// A retention with a bad field already has its own problem; "keeps nothing" would only add noise.
function keepsSomethingOrInvalid(value: RetentionPolicy): boolean {
  const parsed = retentionPolicySchema.safeParse(value);
  return !parsed.success || keepsSomething(parsed.data);
}

/** The shared retention schema (GFS counts and keepWithin) with this model's unknown-key messages. */
const retention = strict(retentionPolicySchema.shape).refine(keepsSomethingOrInvalid, {
  message: `keeps nothing; set at least one of ${Object.keys(retentionPolicySchema.shape).join(', ')} above zero`,
});

const repository = z
  .string({ error: expected('a repository URL') })
  .superRefine((value, ctx) => {
    const known = REPOSITORY_SCHEMES.map((s) => (s === 'scaleout:' ? s : `${s}//`)).join(', ');
    const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(value)?.[1]?.toLowerCase();
    if (!scheme) ctx.addIssue({ code: 'custom', message: `${JSON.stringify(value)} is not a repository URL; expected one of ${known}` });
    else if (!(REPOSITORY_SCHEMES as readonly string[]).includes(`${scheme}:`)) {
      ctx.addIssue({ code: 'custom', message: `${JSON.stringify(value)} has unknown scheme "${scheme}:"; expected one of ${known}` });
    } else if (scheme !== 'scaleout' && !value.slice(scheme.length + 1).startsWith('//')) {
      ctx.addIssue({ code: 'custom', message: `${JSON.stringify(value)} is not a repository URL; expected ${scheme}://...` });
    }
  })
  .describe('repository URL: file:///path, s3://bucket/prefix, azblob://account/container/prefix or scaleout:/extents.json');

const awsAccount = strict({
  provider: z.literal('aws'),
  id: z
    .string({ error: (issue) => `expected a 12-digit AWS account id as a string, got ${describeValue(issue.input)}${typeof issue.input === 'number' ? ' (quote it in YAML: id: "123456789012")' : ''}` })
    .regex(AWS_ACCOUNT_ID, { error: expected('a 12-digit AWS account id') }),
  roleArn: text('an IAM role ARN arn:aws:iam::<account-id>:role/<name>', ROLE_ARN),
});
const azureAccount = strict({
  provider: z.literal('azure'),
  id: text('an Azure subscription id (a GUID)', AZURE_SUBSCRIPTION_ID),
});
const account = z.discriminatedUnion('provider', [awsAccount, azureAccount], {
  error: (issue) => (issue.code === 'invalid_union' ? `expected provider "aws" or "azure", got ${describeValue((issue.input as { provider?: unknown } | undefined)?.provider)}` : expected('an account object')(issue)),
});

const resourceType = z.enum(RESOURCE_TYPES, { error: expected(`a resource type (${RESOURCE_TYPES.join(', ')})`) });

const selection = strict({
  resourceTypes: z.array(resourceType, { error: expected('a list of resource types') }).min(1, { error: 'expected at least one resource type' }),
  tags: stringMap('tag values').optional().describe('select resources carrying all these tags'),
  ids: z.array(text('a resource id'), { error: expected('a list of resource ids') }).optional().describe('select these resources too'),
  excludeIds: z.array(text('a resource id'), { error: expected('a list of resource ids') }).optional(),
  excludeTags: stringMap('tag values').optional().describe('skip resources carrying any of these tags'),
});

const snapshots = strict({ schedule, timeZone, retention });
const backup = strict({ schedule, timeZone, retention, repository });

const worker = strict({
  instanceSize: z
    .array(strict({ upToGiB: z.number({ error: expected('a size in GiB') }).positive({ error: expected('a positive size in GiB') }), type: text('an instance type') }), {
      error: expected('a list of { upToGiB, type }'),
    })
    .min(1, { error: 'expected at least one { upToGiB, type } entry' })
    .describe('instance type by the size of the data to process, ascending by upToGiB'),
  subnets: z.record(text('a region'), z.array(text('a subnet id'), { error: expected('a list of subnet ids') }).min(1, { error: 'expected at least one subnet' }), {
    error: expected('a map of region to subnet ids'),
  }),
  spotAllowed: z.boolean({ error: expected('true or false') }),
});

const consistency = z.union(
  [
    z.literal('crash'),
    strict({ application: strict({ preScript: text('a script'), postScript: text('a script'), windowsVss: z.boolean({ error: expected('true or false') }).optional() }) }),
  ],
  { error: (issue) => (issue.code === 'invalid_union' ? `expected "crash" or { application: { preScript, postScript, windowsVss? } }, got ${describeValue(issue.input)}` : undefined) },
);

export const policySchema = strict({
  id: text('a slug (lower-case letters, digits and dashes, at most 63)', SLUG),
  name: text('a non-empty name'),
  account,
  enabled: z.boolean({ error: expected('true or false') }).optional().describe('false: the schedules do not run the policy (a run started by hand still does); default true'),
  regions: z.array(text('a region name'), { error: expected('a list of region names') }).min(1, { error: 'expected at least one region' }),
  selection,
  snapshots: snapshots.optional().describe('cloud-native snapshots'),
  backup: backup.optional().describe('image-level backups into a repository'),
  worker: worker.optional(),
  consistency: consistency.optional().describe('"crash" (default) or application-consistent with scripts'),
  tags: stringMap('tag values').optional().describe('tags added to the snapshots and backups the policy creates'),
});

export type Policy = z.infer<typeof policySchema>;
export type PolicyAccount = Policy['account'];

/** Whether schedules run the policy: `enabled` absent means true. */
export const isEnabled = (policy: { enabled?: boolean }): boolean => policy.enabled !== false;

/**
 * Validates untrusted input (a parsed policy file). `where` (e.g. the file path) prefixes every
 * message; all problems are reported at once in a PolicyValidationError (an InvalidArgumentError).
 */
export function parsePolicy(input: unknown, where: string): Policy {
  const result = policySchema.safeParse(input, { reportInput: true });
  const problems: PolicyProblem[] = result.success ? [] : issuesToProblems(result.error.issues, where);
  const seen = new Set(problems.map((p) => `${p.path}\n${p.message}`));
  for (const p of crossCheckPolicy(input, where)) if (!seen.has(`${p.path}\n${p.message}`)) problems.push(p);
  if (problems.length > 0 || !result.success) throw new PolicyValidationError(problems);
  return result.data;
}
