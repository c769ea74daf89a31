// Azure Key Vault key provider: wraps the repository master key with a Key Vault key (wrapKey/unwrapKey, RSA-OAEP-256).
import type { TokenCredential } from '@azure/identity';
import type { CryptographyClient, CryptographyClientOptions, KeyClient, KeyClientOptions, KeyWrapAlgorithm } from '@azure/keyvault-keys';
import type { KeyProvider, WrappedKey } from '../../core/crypto/key-provider.ts';
import { AbortedError, CloudkeepError, InvalidArgumentError } from '../../core/errors.ts';
import type { IoOptions } from '../../core/store/object-store.ts';

export const KEYVAULT_PROVIDER_NAME = 'azure-keyvault';
export const DEFAULT_WRAP_ALGORITHM: KeyWrapAlgorithm = 'RSA-OAEP-256';
export const WRAP_ALGORITHMS: readonly KeyWrapAlgorithm[] = ['RSA-OAEP-256', 'RSA-OAEP', 'RSA1_5', 'A256KW', 'A192KW', 'A128KW'];

export type KeyVaultClientOptions = CryptographyClientOptions & KeyClientOptions;

export interface AzureKeyVaultKeyProviderOptions {
  /** https://<vault>.vault.azure.net/keys/<name>[/<version>]; without a version the current one is used and recorded. */
  keyId: string;
  /** Wrap algorithm for new key objects; unwrap uses the one each key object records. */
  algorithm?: KeyWrapAlgorithm;
  /** Defaults to DefaultAzureCredential. */
  credential?: TokenCredential;
  /** Passed to the SDK clients (retry options, allowInsecureConnection, disableChallengeResourceVerification...). */
  clientOptions?: KeyVaultClientOptions;
}

export interface ParsedVaultKeyId {
  vaultUrl: string;
  name: string;
  version?: string;
}

/** Parses a Key Vault key URL; throws InvalidArgumentError naming the expected form. */
export function parseVaultKeyId(keyId: string): ParsedVaultKeyId {
  const bad = () => new InvalidArgumentError(`bad Azure Key Vault key ${JSON.stringify(keyId)}: expected https://<vault>.vault.azure.net/keys/<name>[/<version>]`);
  let url: URL;
  try {
    url = new URL(keyId);
  } catch {
    throw bad();
  }
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.search || url.hash || url.username || url.password) throw bad();
  const m = /^\/keys\/([A-Za-z0-9-]{1,127})(?:\/([A-Za-z0-9]+))?\/?$/.exec(url.pathname);
  if (!m) throw bad();
  return { vaultUrl: `${url.protocol}//${url.host}`, name: m[1], version: m[2] };
}

type VaultModule = typeof import('@azure/keyvault-keys');
let vaultModule: Promise<VaultModule> | undefined;
/** Loaded on first use, so commands that never touch Key Vault do not pay for the SDK. */
function loadVault(): Promise<VaultModule> {
  vaultModule ??= import('@azure/keyvault-keys');
  return vaultModule;
}

export class AzureKeyVaultKeyProvider implements KeyProvider {
  readonly name = KEYVAULT_PROVIDER_NAME;
  readonly keyId: string;
  readonly algorithm: KeyWrapAlgorithm;
  readonly #parsed: ParsedVaultKeyId;
  readonly #clientOptions: KeyVaultClientOptions;
  #credential: Promise<TokenCredential> | undefined;
  #versionedId: Promise<string> | undefined;
  #keyClient: KeyClient | undefined;
  readonly #crypto = new Map<string, CryptographyClient>();

  constructor(options: AzureKeyVaultKeyProviderOptions) {
    this.#parsed = parseVaultKeyId(options.keyId);
    this.algorithm = options.algorithm ?? DEFAULT_WRAP_ALGORITHM;
    if (!WRAP_ALGORITHMS.includes(this.algorithm)) {
      throw new InvalidArgumentError(`bad key wrap algorithm ${JSON.stringify(this.algorithm)}: expected one of ${WRAP_ALGORITHMS.join(', ')}`);
    }
    const { vaultUrl, name, version } = this.#parsed;
    this.keyId = `${vaultUrl}/keys/${name}${version ? `/${version}` : ''}`;
    this.#clientOptions = options.clientOptions ?? {};
    if (options.credential) this.#credential = Promise.resolve(options.credential);
  }

  async wrap(masterKey: Buffer, options: IoOptions = {}): Promise<WrappedKey> {
    const keyId = await this.#currentKeyId(options);
    const client = await this.#cryptoClient(keyId);
    let result;
    try {
      result = await client.wrapKey(this.algorithm, masterKey, { abortSignal: options.signal });
    } catch (err) {
      throw vaultError(err, 'wrapKey', keyId, options.signal);
    }
    return { provider: this.name, params: { keyId, algorithm: this.algorithm }, wrapped: Buffer.from(result.result).toString('base64') };
  }

  async unwrap(key: WrappedKey, options: IoOptions = {}): Promise<Buffer | null> {
    if (key.provider !== this.name) return null;
    const { keyId, algorithm } = key.params as { keyId?: unknown; algorithm?: unknown };
    if (typeof keyId !== 'string' || typeof algorithm !== 'string') return null;
    let stored: ParsedVaultKeyId;
    try {
      stored = parseVaultKeyId(keyId);
    } catch {
      return null;
    }
    // A key object of another vault or key is not ours: skip it without asking Key Vault. Any version of our key is ours.
    const same = stored.vaultUrl.toLowerCase() === this.#parsed.vaultUrl.toLowerCase() && stored.name.toLowerCase() === this.#parsed.name.toLowerCase();
    if (!same || !stored.version) return null;
    const client = await this.#cryptoClient(keyId);
    try {
      const result = await client.unwrapKey(algorithm as KeyWrapAlgorithm, Buffer.from(key.wrapped, 'base64'), { abortSignal: options.signal });
      return Buffer.from(result.result);
    } catch (err) {
      // 400 on unwrap: the value is not a ciphertext of this key version (the analogue of KMS InvalidCiphertext).
      if ((err as RestErrorShape)?.statusCode === 400) return null;
      throw vaultError(err, 'unwrapKey', keyId, options.signal);
    }
  }

  /** The versioned key id to wrap with: the given one, or the key's current version. */
  #currentKeyId(options: IoOptions): Promise<string> {
    if (this.#parsed.version) return Promise.resolve(this.keyId);
    this.#versionedId ??= this.#resolveVersion(options).catch((err: unknown) => {
      this.#versionedId = undefined;
      throw err;
    });
    return this.#versionedId;
  }

  async #resolveVersion(options: IoOptions): Promise<string> {
    const { KeyClient } = await loadVault();
    this.#keyClient ??= new KeyClient(this.#parsed.vaultUrl, await this.#getCredential(), { ...this.#clientOptions });
    try {
      const key = await this.#keyClient.getKey(this.#parsed.name, { abortSignal: options.signal });
      if (!key.id || !parseVaultKeyId(key.id).version) throw new CloudkeepError(`Azure Key Vault returned no versioned id for key ${this.keyId}`);
      return key.id;
    } catch (err) {
      if (err instanceof CloudkeepError) throw err;
      throw vaultError(err, 'getKey (to find the current version; or give a versioned key URL)', this.keyId, options.signal);
    }
  }

  async #cryptoClient(keyId: string): Promise<CryptographyClient> {
    let client = this.#crypto.get(keyId);
    if (!client) {
      const { CryptographyClient } = await loadVault();
      // The SDK writes into the options object it is given: each client gets its own copy.
      client = new CryptographyClient(keyId, await this.#getCredential(), { ...this.#clientOptions });
      this.#crypto.set(keyId, client);
    }
    return client;
  }

  #getCredential(): Promise<TokenCredential> {
    this.#credential ??= import('@azure/identity').then(({ DefaultAzureCredential }) => new DefaultAzureCredential());
    return this.#credential;
  }
}

interface RestErrorShape {
  name?: string;
  message?: string;
  code?: string;
  statusCode?: number;
}

const NETWORK_CODES = new Set(['REQUEST_SEND_ERROR', 'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH']);

/**
 * A Key Vault failure as a CloudkeepError naming the key. The SDK's RestError keeps the request,
 * whose body holds the key being wrapped, so only a sanitized copy goes into the cause.
 */
export function vaultError(err: unknown, operation: string, keyId: string, signal?: AbortSignal): CloudkeepError {
  const e = (err ?? {}) as RestErrorShape;
  const name = e.name ?? 'Error';
  const cause = Object.assign(new Error(e.message ?? String(err)), { name, code: e.code, statusCode: e.statusCode });
  if (signal?.aborted || name === 'AbortError') return new AbortedError(`Azure Key Vault ${operation} with key ${keyId} aborted`, { cause });
  const status = e.statusCode;
  const detail = `${status ? `HTTP ${status} ` : ''}${e.code ?? name}${e.message ? `: ${e.message}` : ''}`;
  const fail = (what: string, retryable = false) => new CloudkeepError(`Azure Key Vault ${operation} with key ${keyId} failed: ${what} (${detail})`, { cause, retryable });
  if (status === 401) return fail('the vault refused the credential');
  if (status === 403 && /disabled/i.test(e.message ?? '')) return fail('the key is disabled: enable it in Key Vault');
  if (status === 403) return fail('access denied: the identity needs the get, wrapKey and unwrapKey key permissions (e.g. the "Key Vault Crypto User" role)');
  if (status === 404) return fail('key not found: check the vault, key name and version (was it deleted?)');
  if (status === 408 || status === 429 || (status !== undefined && status >= 500)) return fail('a temporary failure; try again', true);
  if (NETWORK_CODES.has(e.code ?? '')) return fail('the vault could not be reached; try again', true);
  if (name === 'CredentialUnavailableError' || name === 'AuthenticationError' || name === 'AggregateAuthenticationError') return fail('no usable Azure credential (sign in with "az login" or configure a managed identity)');
  return fail('see the Azure error');
}
