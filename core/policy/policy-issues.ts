// Turns zod issues and cross-field findings into policy problems that name the file, field and value.
import type { z } from 'zod';
import { InvalidArgumentError } from '../errors.ts';

/** One thing wrong in one policy file. */
export interface PolicyProblem {
  /** The file (or other source) the policy came from. */
  file: string;
  /** The field, e.g. "backup.schedule" or "selection.resourceTypes[1]"; "" for the whole policy. */
  path: string;
  message: string;
  /** The line in the file, when known. */
  line?: number;
}

export function formatProblem(p: PolicyProblem): string {
  return p.path ? `${p.file}: ${p.path}: ${p.message}` : `${p.file}: ${p.message}`;
}

/** Bad policies: every problem found, each naming file and field. Exit code 2 in the CLI. */
export class PolicyValidationError extends InvalidArgumentError {
  readonly problems: PolicyProblem[];
  constructor(problems: PolicyProblem[]) {
    super(problems.length === 1 ? formatProblem(problems[0]) : `${problems.length} problems in policies:\n${problems.map(formatProblem).join('\n')}`);
    this.name = 'PolicyValidationError';
    this.problems = problems;
  }
}

/** A short rendering of a user's value for messages. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing (the field is missing)';
  if (value === null) return 'null';
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (Array.isArray(value)) return 'a list';
  try {
    const text = JSON.stringify(value);
    return text.length > 60 ? `${text.slice(0, 57)}...` : text;
  } catch {
    return typeof value;
  }
}

export function joinPath(parts: readonly PropertyKey[]): string {
  let out = '';
  for (const part of parts) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out ? `.${String(part)}` : String(part);
  }
  return out;
}

type Issue = z.core.$ZodIssue;

/** The union branch the user evidently meant: the only one that did not fail at its root. */
function meantBranch(branches: Issue[][]): Issue[] | undefined {
  const plausible = branches.filter((issues) => !issues.some((i) => i.path.length === 0 && (i.code === 'invalid_type' || i.code === 'invalid_value')));
  return plausible.length === 1 ? plausible[0] : undefined;
}

export function issuesToProblems(issues: readonly Issue[], file: string, prefix: readonly PropertyKey[] = []): PolicyProblem[] {
  return issues.flatMap((issue): PolicyProblem[] => {
    const at = [...prefix, ...issue.path];
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({ file, path: joinPath([...at, key]), message: issue.message }));
    }
    if (issue.code === 'invalid_union') {
      const branch = meantBranch(issue.errors);
      if (branch) return issuesToProblems(branch, file, at);
    }
    return [{ file, path: joinPath(at), message: issue.message }];
  });
}
