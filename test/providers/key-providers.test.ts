// Key provider specs: each accepted form builds its provider; each bad spec fails with InvalidArgumentError.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { PassphraseKeyProvider } from '../../core/crypto/passphrase-key-provider.ts';
import { InvalidArgumentError } from '../../core/errors.ts';
import { AwsKmsKeyProvider } from '../../providers/aws/kms-key-provider.ts';
import { AzureKeyVaultKeyProvider } from '../../providers/azure/keyvault-key-provider.ts';
import { keyProviderFromSpec } from '../../providers/key-providers.ts';
import { KmsTestServer } from '../support/kms-test-server.ts';
import { FAST_SCRYPT } from '../support/repo-fixture.ts';

const ARN = 'arn:aws:kms:us-east-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const VAULT_KEY = 'https://cloudkeep.vault.azure.net/keys/repo-key';

describe('keyProviderFromSpec', () => {
  it('"passphrase" reads CLOUDKEEP_PASSPHRASE', async () => {
    const p = keyProviderFromSpec('passphrase', { CLOUDKEEP_PASSPHRASE: 'correct horse' }, { scrypt: FAST_SCRYPT });
    assert.ok(p instanceof PassphraseKeyProvider);
    const master = randomBytes(32);
    assert.ok((await p.unwrap(await p.wrap(master)))?.equals(master));
    assert.throws(() => keyProviderFromSpec('passphrase', {}), (err) => err instanceof InvalidArgumentError && /CLOUDKEEP_PASSPHRASE/.test(err.message));
  });

  it('"aws-kms:" takes a key ARN, alias ARN, alias or key id, with optional region and endpoint', () => {
    const byArn = keyProviderFromSpec(`aws-kms:${ARN}`, {});
    assert.ok(byArn instanceof AwsKmsKeyProvider);
    assert.equal(byArn.keyId, ARN);
    for (const spec of [
      'aws-kms:alias/backup?region=eu-west-1',
      'aws-kms:arn:aws:kms:eu-west-1:111122223333:alias/backup',
      'aws-kms:mrk-1234abcd12ab34cd56ef1234567890ab?region=eu-west-1&endpoint=http://127.0.0.1:4566',
    ]) {
      assert.ok(keyProviderFromSpec(spec, {}) instanceof AwsKmsKeyProvider, spec);
    }
    assert.equal((keyProviderFromSpec('aws-kms:alias/backup', { AWS_REGION: 'eu-west-1' }) as AwsKmsKeyProvider).keyId, 'alias/backup');
  });

  it('an aws-kms spec wraps and unwraps through KMS', async () => {
    const kms = await KmsTestServer.start('eu-west-1');
    try {
      kms.createKey('alias/from-spec');
      const p = keyProviderFromSpec('aws-kms:alias/from-spec?region=eu-west-1', {}, { kmsClient: kms.client() });
      const master = randomBytes(32);
      assert.ok((await p.unwrap(await p.wrap(master)))?.equals(master));
    } finally {
      await kms.close();
    }
  });

  it('"azure-keyvault:" takes an https key URL, with or without version, and an optional algorithm', () => {
    const p = keyProviderFromSpec(`azure-keyvault:${VAULT_KEY}`, {});
    assert.ok(p instanceof AzureKeyVaultKeyProvider);
    assert.equal(p.keyId, VAULT_KEY);
    assert.equal(p.algorithm, 'RSA-OAEP-256');
    const versioned = keyProviderFromSpec(`azure-keyvault:${VAULT_KEY}/0123456789abcdef0123456789abcdef?algorithm=RSA-OAEP`, {}) as AzureKeyVaultKeyProvider;
    assert.equal(versioned.keyId, `${VAULT_KEY}/0123456789abcdef0123456789abcdef`);
    assert.equal(versioned.algorithm, 'RSA-OAEP');
  });

  it('bad specs raise InvalidArgumentError naming the problem', () => {
    const cases: [string, RegExp][] = [
      ['', /unknown kind/],
      ['passphrase:extra', /unknown kind/],
      ['gcp-kms:projects/x', /unknown kind "gcp-kms"/],
      ['aws-kms:', /no KMS key/],
      ['aws-kms:my-key', /bad AWS KMS key/],
      ['aws-kms:alias/backup?region=Mars', /bad region/],
      ['aws-kms:alias/backup?profile=prod', /unknown parameter "profile"/],
      ['aws-kms:alias/backup?region=eu-west-1&region=us-east-1', /given twice/],
      ['aws-kms:alias/backup?endpoint=file:///etc', /bad endpoint/],
      [`aws-kms:${ARN}?region=eu-west-1`, /region us-east-2, not eu-west-1/],
      ['azure-keyvault:', /no key URL/],
      ['azure-keyvault:cloudkeep/repo-key', /bad Azure Key Vault key/],
      ['azure-keyvault:https://cloudkeep.vault.azure.net/secrets/x', /bad Azure Key Vault key/],
      ['azure-keyvault:http://cloudkeep.vault.azure.net/keys/x', /must use https/],
      [`azure-keyvault:${VAULT_KEY}?algorithm=ROT13`, /unknown algorithm/],
      [`azure-keyvault:${VAULT_KEY}?version=1`, /unknown parameter "version"/],
    ];
    for (const [spec, message] of cases) {
      assert.throws(() => keyProviderFromSpec(spec, { CLOUDKEEP_PASSPHRASE: 'x' }), (err) => err instanceof InvalidArgumentError && message.test(err.message), spec);
    }
  });
});
