// Shared wiring of CLI commands: global options, passphrase, repository, block processor, output.
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { systemClock } from '../core/clock.ts';
import { PassphraseKeyProvider } from '../core/crypto/passphrase-key-provider.ts';
import { Secret } from '../core/crypto/secret.ts';
import type { BlockProcessor, ProcessorSetup } from '../core/engine/block-processor.ts';
import { InvalidArgumentError } from '../core/errors.ts';
import { Repository } from '../core/repo/repository.ts';
import { RepositoryLimiter, type RepositoryLimits } from '../core/store/repository-limits.ts';
import type { KeyProvider } from '../core/crypto/key-provider.ts';
import { keyProviderFromSpec } from '../providers/key-providers.ts';
import { ThreadBlockProcessor } from '../worker-image/thread-block-processor.ts';
import { passphraseFromFile } from './repo-location.ts';
import { openStore } from './repo-url.ts';
import { progressView, type ProgressView } from './progress.ts';

// zod compiles a schema into a function on its first parse. A CLI command parses the config and a
// few manifests once each, so compiling cost ~0.1 s of every run and saved nothing: interpret instead.
z.config({ jitless: true });

export interface GlobalOptions {
  repo?: string;
  key?: string[];
  passphraseFile?: string;
  json?: boolean;
  quiet?: boolean;
  threads?: string;
  maxTasks?: string;
  readLimit?: string;
  writeLimit?: string;
}

export async function readPassphrase(opts: GlobalOptions, env: NodeJS.ProcessEnv = process.env): Promise<Secret<string>> {
  if (opts.passphraseFile) {
    try {
      return new Secret(passphraseFromFile(await readFile(opts.passphraseFile, 'utf8')));
    } catch (err) {
      throw new InvalidArgumentError(`cannot read passphrase file ${JSON.stringify(opts.passphraseFile)}: ${(err as Error).message}`, { cause: err });
    }
  }
  const fromEnv = env.CLOUDKEEP_PASSPHRASE;
  if (fromEnv) return new Secret(fromEnv);
  throw new InvalidArgumentError('no passphrase: set CLOUDKEEP_PASSPHRASE or pass --passphrase-file <file>');
}

export function repoLocation(opts: GlobalOptions, env: NodeJS.ProcessEnv = process.env): string {
  return opts.repo ?? env.CLOUDKEEP_REPOSITORY ?? '';
}

/**
 * Key providers from --key specs (or CLOUDKEEP_KEY, comma-separated): passphrase, aws-kms:<key>,
 * azure-keyvault:<key-url>. Without any, the passphrase is used.
 */
export async function keyProviders(opts: GlobalOptions, env: NodeJS.ProcessEnv = process.env): Promise<KeyProvider[]> {
  const specs = opts.key ?? (env.CLOUDKEEP_KEY ? env.CLOUDKEEP_KEY.split(',').map((s) => s.trim()) : ['passphrase']);
  const out: KeyProvider[] = [];
  for (const spec of specs) out.push(spec === 'passphrase' ? new PassphraseKeyProvider(await readPassphrase(opts, env)) : keyProviderFromSpec(spec, env));
  return out;
}

export async function openRepo(opts: GlobalOptions): Promise<Repository> {
  const store = await openStore(repoLocation(opts));
  return Repository.open(store, await keyProviders(opts), systemClock);
}

function threadsOption(opts: GlobalOptions): number | undefined {
  const threads = opts.threads === undefined ? undefined : Number(opts.threads);
  if (threads !== undefined && (!Number.isInteger(threads) || threads < 1 || threads > 256)) {
    throw new InvalidArgumentError(`--threads ${JSON.stringify(opts.threads)}: expected a whole number from 1 to 256`);
  }
  return threads;
}

const setupOf = (repo: Repository): ProcessorSetup => ({
  chunking: repo.params.chunking,
  compressionLevel: repo.params.compression.level,
  chunkIdKey: repo.master.chunkIdKey,
  treeIdKey: repo.master.treeIdKey,
});

export function makeProcessor(repo: Repository, opts: GlobalOptions): BlockProcessor {
  return new ThreadBlockProcessor(setupOf(repo), threadsOption(opts));
}

/**
 * Opens the repository and runs fn with it and a block processor. With `warm` (the default) the
 * threads start first and load while the key is derived (~0.2 s of scrypt), so the first blocks
 * find them ready; without it they start with the first task, if any (a quick verify has none).
 */
export async function withRepoAndProcessor<T>(opts: GlobalOptions, fn: (repo: Repository, processor: BlockProcessor) => Promise<T>, warm = true): Promise<T> {
  let setup!: (s: ProcessorSetup) => void;
  const processor = new ThreadBlockProcessor(new Promise<ProcessorSetup>((resolve) => (setup = resolve)), threadsOption(opts));
  if (warm) processor.warm();
  try {
    const repo = await openRepo(opts);
    setup(setupOf(repo));
    return await fn(repo, processor);
  } finally {
    await processor.close();
  }
}

function positive(flag: string, text: string | undefined, whole: boolean): number | undefined {
  if (text === undefined) return undefined;
  const n = /^\s*\d+(\.\d+)?\s*$/.test(text) ? Number(text) : NaN;
  if (!(n > 0) || !Number.isFinite(n) || (whole && !Number.isSafeInteger(n))) {
    throw new InvalidArgumentError(`${flag} ${JSON.stringify(text)}: expected a positive ${whole ? 'whole number' : 'number of MB/s'}`);
  }
  return n;
}

/** Repository limits from --max-tasks, --read-limit and --write-limit; undefined when none is given. */
export function repositoryLimits(opts: GlobalOptions): RepositoryLimits | undefined {
  const limits: RepositoryLimits = {
    maxConcurrentTasks: positive('--max-tasks', opts.maxTasks, true),
    readMBps: positive('--read-limit', opts.readLimit, false),
    writeMBps: positive('--write-limit', opts.writeLimit, false),
  };
  return Object.values(limits).some((v) => v !== undefined) ? limits : undefined;
}

const limiters = new WeakMap<GlobalOptions, RepositoryLimiter | null>();

/** The one limiter of this process for the global options (undefined without limits); validates the flags. */
export function limiterFor(opts: GlobalOptions): RepositoryLimiter | undefined {
  if (!limiters.has(opts)) {
    const limits = repositoryLimits(opts);
    limiters.set(opts, limits ? new RepositoryLimiter(limits) : null);
  }
  return limiters.get(opts) ?? undefined;
}

export function progressFor(opts: GlobalOptions): ProgressView {
  return progressView(!opts.json && !opts.quiet);
}

/** Prints a result: JSON for scripts, or the human text. */
export function emit(opts: GlobalOptions, json: unknown, text: () => string): void {
  if (opts.json) process.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
  else if (!opts.quiet) process.stdout.write(`${text()}\n`);
}

export async function withProcessor<T>(repo: Repository, opts: GlobalOptions, fn: (p: BlockProcessor) => Promise<T>): Promise<T> {
  const processor = makeProcessor(repo, opts);
  try {
    return await fn(processor);
  } finally {
    await processor.close();
  }
}
