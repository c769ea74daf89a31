// scrypt, the passphrase provider's key derivation, with derivations that may be started early:
// the CLI starts the one its repository's key object asks for while its modules still load
// (cli/key-prefetch.ts), and the provider's call with the same passphrase, salt and parameters
// takes that derivation instead of starting its own. Node builtins only, so it loads first.
import { createHash, scrypt } from 'node:crypto';

export interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

/** Derivations started ahead of their use, each taken by the first matching derive (then forgotten). */
const ahead = new Map<string, Promise<Buffer>>();

const idOf = (passphrase: string, salt: Buffer, params: ScryptParams): string =>
  createHash('sha256').update(passphrase).update('\0').update(salt).update(`\0${params.N}:${params.r}:${params.p}`).digest('base64');

function run(passphrase: string, salt: Buffer, params: ScryptParams): Promise<Buffer> {
  const maxmem = 256 * params.N * params.r + 16 * 1024 * 1024;
  return new Promise((resolve, reject) =>
    scrypt(passphrase, salt, 32, { N: params.N, r: params.r, p: params.p, maxmem }, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

/** The 32-byte key scrypt derives from `passphrase` and `salt`: a derivation started ahead for them, else a new one. */
export function deriveKey(passphrase: string, salt: Buffer, params: ScryptParams): Promise<Buffer> {
  const id = idOf(passphrase, salt, params);
  const started = ahead.get(id);
  ahead.delete(id);
  return started ?? run(passphrase, salt, params);
}

/** Starts a derivation for a later deriveKey with the same inputs (a failure surfaces there, or not at all). */
export function deriveKeyAhead(passphrase: string, salt: Buffer, params: ScryptParams): void {
  const id = idOf(passphrase, salt, params);
  if (ahead.has(id)) return;
  const started = run(passphrase, salt, params);
  started.catch(() => undefined);
  ahead.set(id, started);
}

/** Derivations started ahead and not yet taken (for tests). */
export const derivationsAhead = (): number => ahead.size;
