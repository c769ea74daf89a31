// The JSON Schema of policy files (policies/schema.json), generated from the zod policy schema.
import { z } from 'zod';
import { policySchema } from './policy-schema.ts';

/**
 * JSON Schema for editors and other tools. It carries the structure, enums and patterns; the
 * checks that need code (cron syntax, time zones, cross-field rules) are only in parsePolicy.
 */
export function policyJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(policySchema),
    title: 'Cloudkeep backup policy',
    description: 'One backup policy of one AWS account or Azure subscription; stored as policies/<account-id>/<policy>.yaml',
  };
}

/** The exact text of policies/schema.json. */
export function renderPolicyJsonSchema(): string {
  return `${JSON.stringify(policyJsonSchema(), null, 2)}\n`;
}
