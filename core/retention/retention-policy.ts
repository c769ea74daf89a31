// The retention policy (restic `forget` / GFS style): which restore points to keep.
import { z } from 'zod';
import { InvalidArgumentError } from '../errors.ts';
import { parseDuration } from './duration.ts';

const COUNT_FIELDS = ['keepLast', 'keepHourly', 'keepDaily', 'keepWeekly', 'keepMonthly', 'keepYearly'] as const;
const ALL_FIELDS = [...COUNT_FIELDS, 'keepWithin'] as const;

function describe(value: unknown): string {
  if (typeof value === 'number' || typeof value === 'bigint' || value === undefined) return String(value);
  if (Array.isArray(value)) return 'an array';
  try {
    const text = JSON.stringify(value);
    return text.length > 60 ? `${text.slice(0, 57)}...` : text;
  } catch {
    return typeof value;
  }
}

const countMessage = (issue: { input?: unknown }): string =>
  `expected a non-negative integer, got ${describe(issue.input)}`;
const count = z.number({ error: countMessage }).int({ error: countMessage }).min(0, { error: countMessage }).optional();

export const retentionPolicySchema = z.strictObject(
  {
    keepLast: count,
    keepHourly: count,
    keepDaily: count,
    keepWeekly: count,
    keepMonthly: count,
    keepYearly: count,
    /** Keep every point younger than this duration, e.g. "30d" (see parseDuration). */
    keepWithin: z
      .string({ error: (issue) => `expected a duration string such as "30d", got ${describe(issue.input)}` })
      .superRefine((text, ctx) => {
        try {
          parseDuration(text);
        } catch (error) {
          ctx.addIssue({ code: 'custom', message: (error as Error).message });
        }
      })
      .optional(),
  },
  { error: (issue) => (issue.code === 'invalid_type' ? `expected an object, got ${describe(issue.input)}` : undefined) },
);

export type RetentionPolicy = z.infer<typeof retentionPolicySchema>;

/** True when at least one rule can keep a point; otherwise the policy would delete everything. */
export function keepsSomething(policy: RetentionPolicy): boolean {
  return COUNT_FIELDS.some((field) => (policy[field] ?? 0) > 0) || (policy.keepWithin !== undefined && parseDuration(policy.keepWithin) > 0);
}

/**
 * Validates untrusted input (config file, API body). `path` prefixes field names in messages
 * so a nested policy reports e.g. "jobs.web.retention.keepDaily".
 */
export function parseRetentionPolicy(input: unknown, path = 'retention'): RetentionPolicy {
  const result = retentionPolicySchema.safeParse(input);
  if (!result.success) {
    const problems = result.error.issues.flatMap((issue) => {
      const at = [path, ...issue.path.map(String)].join('.');
      if (issue.code === 'unrecognized_keys') {
        return issue.keys.map((key) => `${at}.${key}: unknown field; expected one of ${ALL_FIELDS.join(', ')}`);
      }
      return [`${at}: ${issue.message}`];
    });
    throw new InvalidArgumentError(`invalid retention policy: ${problems.join('; ')}`);
  }
  if (!keepsSomething(result.data)) {
    throw new InvalidArgumentError(
      `invalid retention policy: ${path}: keeps nothing; set at least one of ${ALL_FIELDS.join(', ')} above zero`,
    );
  }
  return result.data;
}
