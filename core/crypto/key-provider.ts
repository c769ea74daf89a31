// The key-provider port: wraps and unwraps the repository master key (passphrase, KMS, Key Vault).
import type { IoOptions } from '../store/object-store.ts';

/** What a key object stores: provider name plus provider-specific, non-secret parameters. */
export interface WrappedKey {
  provider: string;
  /** Provider parameters, e.g. KDF settings or a KMS key ARN. Never secret. */
  params: Record<string, unknown>;
  /** The wrapped master key, base64. */
  wrapped: string;
}

export interface KeyProvider {
  /** Provider name stored in key objects, e.g. "passphrase", "aws-kms", "azure-keyvault". */
  readonly name: string;
  wrap(masterKey: Buffer, options?: IoOptions): Promise<WrappedKey>;
  /** Returns the master key, or null when this provider's secret does not open the key. */
  unwrap(key: WrappedKey, options?: IoOptions): Promise<Buffer | null>;
}
