// Key provider specs for the CLI: "passphrase", "aws-kms:<arn-or-alias>[?region=..]", "azure-keyvault:<key-url>".
import type { KMSClient } from '@aws-sdk/client-kms';
import type { TokenCredential } from '@azure/identity';
import type { KeyWrapAlgorithm } from '@azure/keyvault-keys';
import type { KeyProvider } from '../core/crypto/key-provider.ts';
import { DEFAULT_SCRYPT, PassphraseKeyProvider, type ScryptParams } from '../core/crypto/passphrase-key-provider.ts';
import { Secret } from '../core/crypto/secret.ts';
import { InvalidArgumentError } from '../core/errors.ts';
import { AwsKmsKeyProvider, parseKmsKeyId } from './aws/kms-key-provider.ts';
import { AzureKeyVaultKeyProvider, parseVaultKeyId, WRAP_ALGORITHMS, type KeyVaultClientOptions } from './azure/keyvault-key-provider.ts';

/** One line per accepted form, for help texts and error messages. */
export const KEY_SPEC_FORMS = [
  'passphrase  (the passphrase comes from CLOUDKEEP_PASSPHRASE)',
  'aws-kms:<key-arn | alias-arn | alias/name | key-id>[?region=<region>][&endpoint=<url>]',
  'azure-keyvault:https://<vault>.vault.azure.net/keys/<name>[/<version>][?algorithm=RSA-OAEP-256]',
] as const;

export interface KeyProviderSpecOptions {
  /** scrypt parameters for a new passphrase key (tests use small ones). */
  scrypt?: ScryptParams;
  /** A configured KMS client, instead of one from the spec's region/endpoint and the default credential chain. */
  kmsClient?: KMSClient;
  /** Instead of DefaultAzureCredential. */
  azureCredential?: TokenCredential;
  azureClientOptions?: KeyVaultClientOptions;
}

type Env = Readonly<Record<string, string | undefined>>;

/** Builds the key provider a spec names; throws InvalidArgumentError naming the bad part and the accepted forms. */
export function keyProviderFromSpec(spec: string, env: Env = process.env, options: KeyProviderSpecOptions = {}): KeyProvider {
  if (spec === 'passphrase') {
    const pass = env.CLOUDKEEP_PASSPHRASE;
    if (!pass) throw new InvalidArgumentError('key spec "passphrase" needs the passphrase in CLOUDKEEP_PASSPHRASE (it is never taken from the command line)');
    return new PassphraseKeyProvider(new Secret(pass), options.scrypt ?? DEFAULT_SCRYPT);
  }
  const colon = spec.indexOf(':');
  const scheme = colon < 0 ? spec : spec.slice(0, colon);
  const rest = colon < 0 ? '' : spec.slice(colon + 1);
  if (scheme === 'aws-kms') return awsKms(spec, rest, env, options);
  if (scheme === 'azure-keyvault') return azureKeyVault(spec, rest, options);
  throw badSpec(spec, `unknown kind ${JSON.stringify(scheme)}`);
}

function badSpec(spec: string, why: string): InvalidArgumentError {
  return new InvalidArgumentError(`bad key spec ${JSON.stringify(spec)}: ${why}; expected one of:\n  ${KEY_SPEC_FORMS.join('\n  ')}`);
}

/** Query parameters of a spec, each at most once and only those allowed. */
function queryParams(spec: string, query: string, allowed: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const [name, value] of new URLSearchParams(query)) {
    if (!allowed.includes(name)) throw badSpec(spec, `unknown parameter ${JSON.stringify(name)} (allowed: ${allowed.join(', ')})`);
    if (out.has(name)) throw badSpec(spec, `parameter ${JSON.stringify(name)} given twice`);
    if (!value) throw badSpec(spec, `parameter ${JSON.stringify(name)} is empty`);
    out.set(name, value);
  }
  return out;
}

function awsKms(spec: string, rest: string, env: Env, options: KeyProviderSpecOptions): KeyProvider {
  const q = rest.indexOf('?');
  const keyId = q < 0 ? rest : rest.slice(0, q);
  if (!keyId) throw badSpec(spec, 'no KMS key after "aws-kms:"');
  const params = queryParams(spec, q < 0 ? '' : rest.slice(q + 1), ['region', 'endpoint']);
  const parsed = parseKmsKeyId(keyId);
  const region = params.get('region');
  if (region !== undefined && !/^[a-z]{2}(-[a-z]+)+-\d+$/.test(region)) throw badSpec(spec, `bad region ${JSON.stringify(region)}`);
  const endpoint = params.get('endpoint');
  if (endpoint !== undefined && !/^https?:\/\/[^/?#\s]+\/?$/.test(endpoint)) throw badSpec(spec, `bad endpoint ${JSON.stringify(endpoint)} (expected http(s)://host[:port])`);
  return new AwsKmsKeyProvider({
    keyId,
    region: region ?? parsed.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION,
    endpoint,
    client: options.kmsClient,
  });
}

function azureKeyVault(spec: string, rest: string, options: KeyProviderSpecOptions): KeyProvider {
  const q = rest.indexOf('?');
  const keyId = q < 0 ? rest : rest.slice(0, q);
  if (!keyId) throw badSpec(spec, 'no key URL after "azure-keyvault:"');
  const params = queryParams(spec, q < 0 ? '' : rest.slice(q + 1), ['algorithm']);
  const parsed = parseVaultKeyId(keyId);
  if (!keyId.startsWith('https://')) throw badSpec(spec, `the key URL must use https (got ${parsed.vaultUrl})`);
  const algorithm = params.get('algorithm') as KeyWrapAlgorithm | undefined;
  if (algorithm !== undefined && !WRAP_ALGORITHMS.includes(algorithm)) throw badSpec(spec, `unknown algorithm ${JSON.stringify(algorithm)} (allowed: ${WRAP_ALGORITHMS.join(', ')})`);
  return new AzureKeyVaultKeyProvider({ keyId, algorithm, credential: options.azureCredential, clientOptions: options.azureClientOptions });
}
