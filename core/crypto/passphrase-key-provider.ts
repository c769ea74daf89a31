// Passphrase key provider: scrypt (memory-hard) derives a key-encryption key that wraps the master key.
import { randomBytes } from 'node:crypto';
import { open, seal } from './aead.ts';
import type { KeyProvider, WrappedKey } from './key-provider.ts';
import { Secret } from './secret.ts';
import { InvalidArgumentError } from '../errors.ts';
import { deriveKey, type ScryptParams } from './scrypt-kdf.ts';

export type { ScryptParams } from './scrypt-kdf.ts';

const AAD = Buffer.from('cloudkeep/v1/key/passphrase');

/**
 * 64 MiB of memory (128 * N * r bytes), about 0.15 s on one core: kopia's default. Every command
 * pays it once, and its memory is most of a small command's peak. Stored per key, so it can rise later.
 */
export const DEFAULT_SCRYPT: ScryptParams = { N: 2 ** 16, r: 8, p: 1 };

/** The salt and scrypt parameters of a passphrase key object; null for another provider's key or unusable parameters. */
export function scryptInputs(key: Pick<WrappedKey, 'provider' | 'params'>): { salt: Buffer; params: ScryptParams } | null {
  if (key.provider !== 'passphrase') return null;
  const { N, r, p, salt } = (key.params ?? {}) as { N?: unknown; r?: unknown; p?: unknown; salt?: unknown };
  if (typeof N !== 'number' || typeof r !== 'number' || typeof p !== 'number' || typeof salt !== 'string') return null;
  return { salt: Buffer.from(salt, 'base64'), params: { N, r, p } };
}

export class PassphraseKeyProvider implements KeyProvider {
  readonly name = 'passphrase';
  readonly #passphrase: Secret<string>;
  readonly #params: ScryptParams;
  constructor(passphrase: Secret<string> | string, params: ScryptParams = DEFAULT_SCRYPT) {
    const secret = typeof passphrase === 'string' ? new Secret(passphrase) : passphrase;
    if (secret.reveal().length === 0) throw new InvalidArgumentError('empty passphrase: expected at least one character');
    this.#passphrase = secret;
    this.#params = params;
  }

  async wrap(masterKey: Buffer): Promise<WrappedKey> {
    const salt = randomBytes(32);
    const kek = await this.#derive(salt, this.#params);
    return {
      provider: this.name,
      params: { kdf: 'scrypt', ...this.#params, salt: salt.toString('base64') },
      wrapped: seal(kek, masterKey, AAD).toString('base64'),
    };
  }

  async unwrap(key: WrappedKey): Promise<Buffer | null> {
    const kdf = scryptInputs(key);
    if (!kdf) return null;
    const kek = await this.#derive(kdf.salt, kdf.params);
    return open(kek, Buffer.from(key.wrapped, 'base64'), AAD);
  }

  async #derive(salt: Buffer, params: ScryptParams): Promise<Buffer> {
    return deriveKey(this.#passphrase.reveal(), salt, params);
  }
}
