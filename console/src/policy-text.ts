// The policy editor's text: YAML (or JSON, which YAML reads too) to a policy object and back; the new-policy template.
import { parse, stringify } from 'yaml';

export function policyToText(body: Record<string, unknown>): string {
  return stringify(body, { lineWidth: 0 });
}

export type Parsed = { ok: true; value: unknown } | { ok: false; error: string };

export function parsePolicyText(text: string): Parsed {
  try {
    const value: unknown = parse(text);
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return { ok: false, error: 'expected a YAML or JSON object (a policy with fields id, name, account, ...)' };
    return { ok: true, value };
  } catch (err) {
    return { ok: false, error: `not valid YAML or JSON: ${err instanceof Error ? err.message : String(err)}` };
  }
}

/** A policy for `account` that validates: daily backups of tagged volumes into a repository. */
export function policyTemplate(account: string): string {
  const aws = /^\d{12}$/.test(account);
  const head = aws
    ? `account:\n  provider: aws\n  id: "${account}"\n  roleArn: arn:aws:iam::${account}:role/CloudkeepBackup\nregions:\n  - eu-central-1\nselection:\n  resourceTypes: [ebs-volume]\n`
    : `account:\n  provider: azure\n  id: "${account}"\nregions:\n  - westeurope\nselection:\n  resourceTypes: [azure-disk]\n`;
  return [
    '# A new backup policy: edit, watch the checks on the right, then save.',
    'id: new-policy',
    'name: New policy',
    head.trimEnd(),
    '  tags:',
    '    backup: daily',
    'backup:',
    '  schedule: "0 2 * * *"',
    '  timeZone: UTC',
    '  retention:',
    '    keepDaily: 7',
    '    keepWeekly: 4',
    '  repository: file:///srv/cloudkeep/repo',
    '',
  ].join('\n');
}
