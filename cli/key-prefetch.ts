// Starts the derivation of the repository's key while the command's modules load (~0.1 s of the
// ~0.17 s scrypt costs, on another core), for the commands that open a repository. Best effort
// and local repositories only: the key object is read straight from <repo>/keys/, and when
// anything is not as expected nothing starts and the command derives the key as usual.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { WrappedKey } from '../core/crypto/key-provider.ts';
import { scryptInputs } from '../core/crypto/passphrase-key-provider.ts';
import { deriveKeyAhead } from '../core/crypto/scrypt-kdf.ts';
import { KEYS_PREFIX } from '../core/repo/layout.ts';
import { parseRepoUrl, passphraseFromFile } from './repo-location.ts';

/** Commands that open the repository with its key. */
const OPENING = new Set(['backup', 'restore', 'points', 'forget', 'prune', 'repo']);

/** The value of option `names` in argv (`--repo x`, `-r x` or `--repo=x`), if given. */
function optionValue(argv: string[], names: string[]): string | undefined {
  for (let i = 2; i < argv.length; i++) {
    const a = argv[i];
    if (names.includes(a)) return argv[i + 1];
    const eq = names.find((n) => n.startsWith('--') && a.startsWith(`${n}=`));
    if (eq) return a.slice(eq.length + 1);
  }
  return undefined;
}

/** Starts deriving the key of the repository `argv` names when `command` opens one; never throws. */
export function prefetchKey(command: string | null, argv: string[], env: NodeJS.ProcessEnv = process.env): boolean {
  try {
    if (command === null || !OPENING.has(command)) return false;
    if (optionValue(argv, ['--key']) !== undefined || (env.CLOUDKEEP_KEY ?? 'passphrase').trim() !== 'passphrase') return false;
    const url = parseRepoUrl(optionValue(argv, ['-r', '--repo']) ?? env.CLOUDKEEP_REPOSITORY ?? '');
    if (url.protocol !== 'file:') return false;
    const file = optionValue(argv, ['--passphrase-file']);
    // Only a regular file is read twice: a pipe (/dev/stdin, <(pass show …)) is left to the command.
    if (file !== undefined && !statSync(file).isFile()) return false;
    const passphrase = file !== undefined ? passphraseFromFile(readFileSync(file, 'utf8')) : env.CLOUDKEEP_PASSPHRASE;
    if (!passphrase) return false;
    const dir = join(fileURLToPath(url), KEYS_PREFIX);
    const keys = readdirSync(dir).filter((n) => !n.startsWith('.'));
    // One passphrase key is the common case; with several, which one opens is not known yet.
    if (keys.length !== 1) return false;
    // Read as the provider reads it (a key object is JSON: Repository.listKeys).
    const kdf = scryptInputs(JSON.parse(readFileSync(join(dir, keys[0]), 'utf8')) as WrappedKey);
    if (!kdf) return false;
    deriveKeyAhead(passphrase, kdf.salt, kdf.params);
    return true;
  } catch {
    return false;
  }
}
