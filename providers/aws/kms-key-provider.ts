// AWS KMS key provider: wraps the repository master key with a KMS key (Encrypt/Decrypt bound to an encryption context).
import type { KMSClient } from '@aws-sdk/client-kms';
import type { KeyProvider, WrappedKey } from '../../core/crypto/key-provider.ts';
import { AbortedError, CloudkeepError, InvalidArgumentError } from '../../core/errors.ts';
import type { IoOptions } from '../../core/store/object-store.ts';

export const KMS_PROVIDER_NAME = 'aws-kms';
/** Always part of the encryption context, so a ciphertext made for another purpose never opens here. */
export const KMS_PURPOSE = 'cloudkeep-repository-key';

export interface AwsKmsKeyProviderOptions {
  /** Key id, key ARN, alias name ("alias/backup") or alias ARN. */
  keyId: string;
  /** A configured client; else one is made from region/endpoint and the SDK's default credential chain. */
  client?: KMSClient;
  region?: string;
  endpoint?: string;
  /** Extra encryption-context pairs (non-secret); "purpose" is reserved. */
  encryptionContext?: Record<string, string>;
}

export interface ParsedKmsKeyId {
  kind: 'key' | 'alias';
  /** The key id or alias name ("alias/x"), without ARN. */
  id: string;
  region?: string;
}

const ARN = /^arn:aws[a-z-]*:kms:([a-z0-9-]+):(\d{12}):(key|alias)\/([A-Za-z0-9/_-]+)$/;
const KEY_ID = /^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})$/;
const ALIAS = /^alias\/[A-Za-z0-9/_-]+$/;

/** Parses a KMS key reference; throws InvalidArgumentError naming the accepted forms. */
export function parseKmsKeyId(keyId: string): ParsedKmsKeyId {
  const arn = ARN.exec(keyId);
  if (arn) return arn[3] === 'key' ? { kind: 'key', id: arn[4], region: arn[1] } : { kind: 'alias', id: `alias/${arn[4]}`, region: arn[1] };
  if (KEY_ID.test(keyId)) return { kind: 'key', id: keyId };
  if (ALIAS.test(keyId) && keyId !== 'alias/aws') return { kind: 'alias', id: keyId };
  throw new InvalidArgumentError(
    `bad AWS KMS key ${JSON.stringify(keyId)}: expected a key ARN (arn:aws:kms:<region>:<account>:key/<id>), an alias ARN, "alias/<name>" or a key id`,
  );
}

const NOT_THIS_KEY = new Set(['IncorrectKeyException', 'InvalidCiphertextException']);
const MUST_ACT: Record<string, string> = {
  AccessDeniedException: 'access denied: the key policy or IAM policy must allow kms:Encrypt and kms:Decrypt for these credentials',
  NotFoundException: 'key not found: check the key id, alias and region',
  DisabledException: 'the key is disabled: enable it in AWS KMS',
  KMSInvalidStateException: 'the key is not usable in its current state (disabled, pending deletion or pending import)',
  InvalidKeyUsageException: 'the key cannot encrypt and decrypt (it must be a symmetric ENCRYPT_DECRYPT key)',
  UnrecognizedClientException: 'AWS rejected the credentials',
  InvalidSignatureException: 'AWS rejected the request signature: check the credentials',
  ExpiredTokenException: 'the AWS session token has expired',
};
const RETRYABLE = new Set(['ThrottlingException', 'LimitExceededException', 'KMSInternalException', 'DependencyTimeoutException', 'KeyUnavailableException', 'TimeoutError', 'RequestTimeout']);
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH']);

interface AwsErrorShape {
  name?: string;
  message?: string;
  code?: string;
  $fault?: string;
  $metadata?: { httpStatusCode?: number };
}

type KmsModule = typeof import('@aws-sdk/client-kms');
let kmsModule: Promise<KmsModule> | undefined;
/** Loaded on first use, so commands that never touch KMS do not pay for the SDK. */
function loadKms(): Promise<KmsModule> {
  kmsModule ??= import('@aws-sdk/client-kms');
  return kmsModule;
}

export class AwsKmsKeyProvider implements KeyProvider {
  readonly name = KMS_PROVIDER_NAME;
  readonly keyId: string;
  readonly #parsed: ParsedKmsKeyId;
  readonly #options: AwsKmsKeyProviderOptions;
  readonly #context: Record<string, string>;
  #client: Promise<KMSClient> | undefined;
  #ownKeyId: Promise<string | undefined> | undefined;

  constructor(options: AwsKmsKeyProviderOptions) {
    this.#parsed = parseKmsKeyId(options.keyId);
    if (options.region && this.#parsed.region && options.region !== this.#parsed.region) {
      throw new InvalidArgumentError(`AWS KMS key ${options.keyId} is in region ${this.#parsed.region}, not ${options.region}; a key ARN is used in its own region`);
    }
    const extra = options.encryptionContext ?? {};
    if ('purpose' in extra && extra.purpose !== KMS_PURPOSE) throw new InvalidArgumentError(`encryption context key "purpose" is reserved (always ${JSON.stringify(KMS_PURPOSE)})`);
    this.keyId = options.keyId;
    this.#options = options;
    this.#context = { ...extra, purpose: KMS_PURPOSE };
    if (options.client) this.#client = Promise.resolve(options.client);
  }

  async wrap(masterKey: Buffer, options: IoOptions = {}): Promise<WrappedKey> {
    const { EncryptCommand } = await loadKms();
    const client = await this.#getClient();
    let out;
    try {
      out = await client.send(new EncryptCommand({ KeyId: this.keyId, Plaintext: masterKey, EncryptionContext: this.#context }), { abortSignal: options.signal });
    } catch (err) {
      throw kmsError(err, 'Encrypt', this.keyId, options.signal);
    }
    if (!out.CiphertextBlob || !out.KeyId) throw new CloudkeepError(`AWS KMS Encrypt with key ${this.keyId} returned no ciphertext or key ARN`);
    const region = ARN.exec(out.KeyId)?.[1] ?? (await client.config.region());
    return {
      provider: this.name,
      params: { keyId: out.KeyId, region, encryptionContext: { ...this.#context } },
      wrapped: Buffer.from(out.CiphertextBlob).toString('base64'),
    };
  }

  async unwrap(key: WrappedKey, options: IoOptions = {}): Promise<Buffer | null> {
    if (key.provider !== this.name) return null;
    const { keyId, encryptionContext } = key.params as { keyId?: unknown; encryptionContext?: unknown };
    if (typeof keyId !== 'string' || !isStringRecord(encryptionContext)) return null;
    // A key object of another KMS key is not ours: skip it without asking KMS.
    const own = await this.#resolveOwnKeyId(options);
    const stored = ARN.exec(keyId);
    if (own !== undefined && stored?.[3] === 'key' && stored[4] !== own) return null;
    const { DecryptCommand } = await loadKms();
    const client = await this.#getClient();
    try {
      const out = await client.send(
        new DecryptCommand({
          CiphertextBlob: Buffer.from(key.wrapped, 'base64'),
          KeyId: this.keyId,
          // The stored context, with this provider's own pairs on top: a provider given other pairs is refused by KMS.
          EncryptionContext: { ...encryptionContext, ...this.#context },
        }),
        { abortSignal: options.signal },
      );
      if (!out.Plaintext) throw new CloudkeepError(`AWS KMS Decrypt with key ${this.keyId} returned no plaintext`);
      return Buffer.from(out.Plaintext);
    } catch (err) {
      if (NOT_THIS_KEY.has((err as AwsErrorShape)?.name ?? '')) return null;
      if (err instanceof CloudkeepError) throw err;
      throw kmsError(err, 'Decrypt', keyId === this.keyId ? keyId : `${this.keyId} (key object of ${keyId})`, options.signal);
    }
  }

  #getClient(): Promise<KMSClient> {
    this.#client ??= loadKms().then(({ KMSClient }) => new KMSClient({ region: this.#options.region ?? this.#parsed.region, endpoint: this.#options.endpoint }));
    return this.#client;
  }

  /** This provider's key id (not alias); undefined when DescribeKey is not allowed, so KMS must decide. */
  #resolveOwnKeyId(options: IoOptions): Promise<string | undefined> {
    if (this.#parsed.kind === 'key') return Promise.resolve(this.#parsed.id);
    this.#ownKeyId ??= this.#describe(options).catch((err: unknown) => {
      this.#ownKeyId = undefined;
      throw err;
    });
    return this.#ownKeyId;
  }

  async #describe(options: IoOptions): Promise<string | undefined> {
    const { DescribeKeyCommand } = await loadKms();
    const client = await this.#getClient();
    try {
      const out = await client.send(new DescribeKeyCommand({ KeyId: this.keyId }), { abortSignal: options.signal });
      return out.KeyMetadata?.KeyId;
    } catch (err) {
      if ((err as AwsErrorShape)?.name === 'AccessDeniedException') return undefined;
      throw kmsError(err, 'DescribeKey', this.keyId, options.signal);
    }
  }
}

function isStringRecord(value: unknown): value is Record<string, string> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.values(value).every((v) => typeof v === 'string');
}

/** A KMS failure as a CloudkeepError naming the key; never carries key material. */
export function kmsError(err: unknown, operation: string, keyId: string, signal?: AbortSignal): CloudkeepError {
  const e = (err ?? {}) as AwsErrorShape;
  const name = e.name ?? 'Error';
  if (signal?.aborted || name === 'AbortError') return new AbortedError(`AWS KMS ${operation} with key ${keyId} aborted`, { cause: err });
  const status = e.$metadata?.httpStatusCode;
  const detail = `${name}${e.message ? `: ${e.message}` : ''}`;
  const action = MUST_ACT[name];
  if (action) return new CloudkeepError(`AWS KMS ${operation} with key ${keyId} failed: ${action} (${detail})`, { cause: err, retryable: false });
  const retryable = RETRYABLE.has(name) || (status !== undefined && status >= 500) || e.$fault === 'server' || NETWORK_CODES.has(e.code ?? '') || NETWORK_CODES.has(name);
  const hint = retryable ? 'a temporary failure; try again' : 'see the AWS error';
  return new CloudkeepError(`AWS KMS ${operation} with key ${keyId} failed (${detail}); ${hint}`, { cause: err, retryable });
}
