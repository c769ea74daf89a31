// The Azure Key Vault key provider through the real SDK clients against a Key Vault REST test server.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { ManualClock } from '../../core/clock.ts';
import { CloudkeepError, InvalidArgumentError, WrongKeyError } from '../../core/errors.ts';
import { Repository } from '../../core/repo/repository.ts';
import { listAll } from '../../core/store/object-store.ts';
import { MemoryObjectStore } from '../../providers/memory/memory-object-store.ts';
import { AzureKeyVaultKeyProvider, type AzureKeyVaultKeyProviderOptions } from '../../providers/azure/keyvault-key-provider.ts';
import { FakeTokenCredential, KeyVaultTestServer, TEST_TENANT } from '../support/keyvault-test-server.ts';
import { passphrase, SMALL_PARAMS } from '../support/repo-fixture.ts';

let vault: KeyVaultTestServer;
before(async () => {
  vault = await KeyVaultTestServer.start();
});
after(async () => {
  await vault.close();
});

// The test vault serves plain HTTP on 127.0.0.1: the SDK allows that when asked, and skips its check that
// the challenge resource (vault.azure.net) matches the request host.
const TEST_CLIENT_OPTIONS = {
  allowInsecureConnection: true,
  disableChallengeResourceVerification: true,
  retryOptions: { maxRetries: 3, retryDelayInMs: 5, maxRetryDelayInMs: 20 },
};

function provider(keyId: string, extra: Partial<AzureKeyVaultKeyProviderOptions> = {}): AzureKeyVaultKeyProvider {
  return new AzureKeyVaultKeyProvider({ keyId, credential: new FakeTokenCredential(), clientOptions: TEST_CLIENT_OPTIONS, ...extra });
}

function assertNoKeyMaterial(text: string, key: Buffer): void {
  for (const form of [key.toString('hex'), key.toString('base64'), key.toString('base64url'), key.toString('latin1')]) {
    assert.ok(!text.includes(form), 'key material leaked');
  }
}

describe('AzureKeyVaultKeyProvider', () => {
  it('wraps and unwraps with RSA-OAEP-256 after the bearer challenge; params hold the versioned key id', async () => {
    const { id } = vault.createKey('roundtrip');
    const credential = new FakeTokenCredential();
    const p = provider(id, { credential });
    const master = randomBytes(32);
    const wrapped = await p.wrap(master);
    assert.deepEqual(wrapped, { provider: 'azure-keyvault', params: { keyId: id, algorithm: 'RSA-OAEP-256' }, wrapped: wrapped.wrapped });
    assert.equal(Buffer.from(wrapped.wrapped, 'base64').length, 256, 'an RSA-2048 ciphertext');
    assertNoKeyMaterial(JSON.stringify(wrapped), master);
    assert.ok((await p.unwrap(wrapped))?.equals(master));
    // The SDK asked for a token only after the 401 challenge, for the vault resource and the challenge's tenant.
    assert.ok(vault.challenges >= 1);
    assert.deepEqual(credential.calls[0], { scopes: ['https://vault.azure.net/.default'], tenantId: TEST_TENANT });
    assert.ok(vault.requests.every((r) => r.apiVersion !== null), 'every request names an api-version');
    assert.ok(vault.requests.some((r) => r.path.endsWith('/wrapkey')) && vault.requests.some((r) => r.path.endsWith('/unwrapkey')));
  });

  it('a versionless key URL resolves and records the current version; older versions still unwrap', async () => {
    const first = vault.createKey('rotating');
    const p = provider(first.versionlessId);
    const master = randomBytes(32);
    const old = await p.wrap(master);
    assert.equal(old.params.keyId, first.id);
    const second = vault.createKey('rotating');
    const fresh = await provider(second.versionlessId).wrap(master);
    assert.equal(fresh.params.keyId, second.id);
    assert.ok((await provider(second.versionlessId).unwrap(old))?.equals(master));
    assert.ok((await provider(first.id).unwrap(fresh))?.equals(master), 'any version of the same key is ours');
  });

  it('returns null for another provider, another key, and a ciphertext the key cannot unwrap', async () => {
    const a = vault.createKey('key-a');
    const b = vault.createKey('key-b');
    const wrapped = await provider(a.id).wrap(randomBytes(32));
    const before = vault.requests.length;
    assert.equal(await provider(b.id).unwrap({ provider: 'passphrase', params: {}, wrapped: 'AAAA' }), null);
    assert.equal(await provider(b.id).unwrap(wrapped), null);
    assert.equal(vault.requests.length, before, 'no request for a key object that is not ours');
    // Same key name, but the ciphertext is not one of its wraps: Key Vault answers 400.
    const bogus = { ...wrapped, wrapped: randomBytes(256).toString('base64') };
    assert.equal(await provider(a.id).unwrap(bogus), null);
  });

  it('rides out throttling answered twice (the SDK retries on 429 Retry-After), then succeeds', async () => {
    const { id } = vault.createKey('throttled');
    const master = randomBytes(32);
    const wrapped = await provider(id).wrap(master);
    const p = provider(id);
    vault.throttleNext = 2;
    const before = vault.requests.length;
    try {
      assert.ok((await p.unwrap(wrapped))?.equals(master));
      assert.equal(vault.throttleNext, 0, 'both 429 answers were served');
      const authorized = vault.requests.slice(before).filter((r) => r.authorized);
      assert.equal(authorized.length, 4, 'get key (429, 429, 200) then unwrapkey');
    } finally {
      vault.throttleNext = 0;
    }
  });

  it('throttling past the SDK retries raises a retryable CloudkeepError', async () => {
    const { id } = vault.createKey('throttled-hard');
    const wrapped = await provider(id).wrap(randomBytes(32));
    vault.throttleNext = 100;
    try {
      await assert.rejects(provider(id).unwrap(wrapped), (err) => err instanceof CloudkeepError && err.retryable && /429/.test(err.message));
    } finally {
      vault.throttleNext = 0;
    }
  });

  it('access denied raises a clear, non-retryable error naming the key, with no key material', async () => {
    const { id } = vault.createKey('denied');
    const master = randomBytes(32);
    const wrapped = await provider(id).wrap(master);
    vault.denyAccess = true;
    try {
      for (const attempt of [() => provider(id).unwrap(wrapped), () => provider(id).wrap(master)]) {
        await assert.rejects(attempt(), (err) => {
          assert.ok(err instanceof CloudkeepError, String(err));
          assert.equal(err.retryable, false);
          assert.match(err.message, /access denied/);
          assert.ok(err.message.includes(id), err.message);
          assertNoKeyMaterial(inspect(err, { depth: 8, showHidden: true }), master);
          return true;
        });
      }
    } finally {
      vault.denyAccess = false;
    }
  });

  it('a disabled or deleted key raises a clear error naming the key', async () => {
    const { id } = vault.createKey('disabled');
    const wrapped = await provider(id).wrap(randomBytes(32));
    vault.setEnabled('disabled', false);
    await assert.rejects(provider(id).unwrap(wrapped), (err) => err instanceof CloudkeepError && /disabled/.test(err.message) && err.message.includes(id));
    vault.deleteKey('disabled');
    await assert.rejects(provider(id).unwrap(wrapped), (err) => err instanceof CloudkeepError && /not found/.test(err.message) && err.message.includes(id));
  });

  it('rejects malformed key URLs and unknown algorithms', () => {
    for (const bad of ['not a url', 'https://v.vault.azure.net/secrets/x', 'https://v.vault.azure.net/keys/', 'ftp://v.vault.azure.net/keys/x']) {
      assert.throws(() => provider(bad), InvalidArgumentError, bad);
    }
    assert.throws(() => provider('https://v.vault.azure.net/keys/x', { algorithm: 'ROT13' as never }), InvalidArgumentError);
  });
});

describe('a repository keyed by Azure Key Vault with a passphrase for disaster recovery', () => {
  it('opens with either key alone; removing the Key Vault key leaves the passphrase working', async () => {
    const { id, versionlessId } = vault.createKey('repo');
    const clock = new ManualClock();
    const store = new MemoryObjectStore({ clock });
    const repo = await Repository.init(store, provider(versionlessId), SMALL_PARAMS, clock);
    await repo.addKey(passphrase());
    const master = repo.master.exportRaw();
    for (const info of await listAll(store, '')) {
      const raw = await store.get(info.key);
      assert.ok(!raw.includes(master), `${info.key} holds the raw master key`);
      assertNoKeyMaterial(raw.toString('latin1'), master);
    }
    const vaultKey = (await Repository.listKeys(store)).find((k) => k.provider === 'azure-keyvault');
    assert.equal(vaultKey?.params.keyId, id);

    assert.equal((await Repository.open(store, [provider(versionlessId)], clock)).config.id, repo.config.id);
    assert.equal((await Repository.open(store, [passphrase()], clock)).config.id, repo.config.id);
    await repo.removeKey(vaultKey!.id);
    assert.equal((await Repository.open(store, [passphrase()], clock)).config.id, repo.config.id);
    await assert.rejects(Repository.open(store, [provider(versionlessId)], clock), WrongKeyError);
  });
});
