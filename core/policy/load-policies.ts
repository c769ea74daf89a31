// Policies as code: reads policies/<account-id>/*.yaml, validates each, and checks folders and unique ids.
import { readdir, readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { InvalidArgumentError } from '../errors.ts';
import { parsePolicy, PolicyValidationError, type Policy, type PolicyProblem } from './policy-schema.ts';

export interface PolicySource {
  /** Path as shown in messages, e.g. "policies/123456789012/web.yaml"; its folder is the account id. */
  file: string;
  text: string;
}

export interface LoadedPolicy {
  file: string;
  policy: Policy;
}

const POLICY_FILE = /\.ya?ml$/i;

/** The line of the YAML node at a problem's path ("a.b[2].c"), when the path leads to one. */
function lineOf(doc: ReturnType<typeof parseDocument>, counter: LineCounter, path: string): number | undefined {
  if (!path) return undefined;
  const parts = [...path.matchAll(/([^.[\]]+)|\[(\d+)\]/g)].map((m) => (m[2] !== undefined ? Number(m[2]) : m[1]));
  for (let n = parts.length; n > 0; n--) {
    const node = doc.getIn(parts.slice(0, n), true) as { range?: [number, number, number] } | undefined;
    if (node?.range) return counter.linePos(node.range[0]).line;
  }
  return undefined;
}

function parseOne(source: PolicySource): { policy?: Policy; raw: unknown; problems: PolicyProblem[] } {
  const counter = new LineCounter();
  const doc = parseDocument(source.text, { lineCounter: counter, prettyErrors: true });
  if (doc.errors.length > 0) {
    return { raw: undefined, problems: doc.errors.map((e) => ({ file: source.file, path: '', message: `invalid YAML: ${e.message.split('\n')[0]}`, line: e.linePos?.[0]?.line })) };
  }
  const raw: unknown = doc.toJS();
  const problems: PolicyProblem[] = [];
  let policy: Policy | undefined;
  try {
    policy = parsePolicy(raw, source.file);
  } catch (err) {
    if (!(err instanceof PolicyValidationError)) throw err;
    problems.push(...err.problems.map((p) => ({ ...p, line: lineOf(doc, counter, p.path) })));
  }
  const account = (raw as { account?: { id?: unknown } } | null)?.account;
  const folder = basename(dirname(source.file));
  if (typeof account?.id === 'string' && account.id.toLowerCase() !== folder.toLowerCase()) {
    problems.push({
      file: source.file,
      path: 'account.id',
      message: `${JSON.stringify(account.id)} does not match the folder "${folder}"; expected the file in a folder named after its account: ${join(dirname(dirname(source.file)), account.id, basename(source.file))}`,
      line: lineOf(doc, counter, 'account.id'),
    });
  }
  return { policy, raw, problems };
}

/**
 * Validates policy files: each on its own, its folder against its account id, and ids unique
 * across all files. Throws one PolicyValidationError listing every problem of every file.
 */
export function parsePolicySources(sources: readonly PolicySource[]): LoadedPolicy[] {
  const problems: PolicyProblem[] = [];
  const loaded: LoadedPolicy[] = [];
  const owners = new Map<string, string>();
  for (const source of sources) {
    const one = parseOne(source);
    problems.push(...one.problems);
    const id = (one.raw as { id?: unknown } | null)?.id;
    if (typeof id === 'string') {
      const first = owners.get(id);
      if (first !== undefined) {
        problems.push({ file: source.file, path: 'id', message: `${JSON.stringify(id)} is also the id of ${first}; expected each policy id once across ${first} and ${source.file}` });
      } else owners.set(id, source.file);
    }
    if (one.policy && one.problems.length === 0) loaded.push({ file: source.file, policy: one.policy });
  }
  if (problems.length > 0) throw new PolicyValidationError(problems);
  return loaded;
}

async function entries(dir: string) {
  try {
    return await readdir(dir, { withFileTypes: true });
  } catch (err) {
    throw new InvalidArgumentError(`cannot read policy folder ${JSON.stringify(dir)}: ${(err as Error).message}; expected a folder holding <account-id>/<policy>.yaml files`, { cause: err });
  }
}

/** Reads and validates every policy under `dir` (layout: <dir>/<account-id>/<policy>.yaml). */
export async function loadPolicies(dir: string): Promise<LoadedPolicy[]> {
  const sources: PolicySource[] = [];
  const misplaced: PolicyProblem[] = [];
  for (const entry of (await entries(dir)).sort((a, b) => a.name.localeCompare(b.name))) {
    const path = join(dir, entry.name);
    if (entry.isFile() && POLICY_FILE.test(entry.name)) {
      misplaced.push({ file: path, path: '', message: `policy files belong in a folder named after their account; expected ${join(dir, '<account-id>', entry.name)}` });
    }
    if (!entry.isDirectory()) continue;
    for (const file of (await entries(path)).sort((a, b) => a.name.localeCompare(b.name))) {
      if (file.isFile() && POLICY_FILE.test(file.name)) sources.push({ file: join(path, file.name), text: await readFile(join(path, file.name), 'utf8') });
    }
  }
  if (sources.length === 0 && misplaced.length === 0) {
    throw new InvalidArgumentError(`no policy files in ${JSON.stringify(dir)}; expected ${join(dir, '<account-id>', '<policy>.yaml')}`);
  }
  try {
    const loaded = parsePolicySources(sources);
    if (misplaced.length > 0) throw new PolicyValidationError(misplaced);
    return loaded;
  } catch (err) {
    if (err instanceof PolicyValidationError && misplaced.length > 0 && err.problems !== misplaced) throw new PolicyValidationError([...misplaced, ...err.problems]);
    throw err;
  }
}
