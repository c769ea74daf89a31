// Parsing azblob:// repository URLs: options, credentials from env only, and errors that name the bad parameter.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { inspect } from 'node:util';
import { StorageSharedKeyCredential } from '@azure/storage-blob';
import { InvalidArgumentError } from '../../core/errors.ts';
import { azureStoreFromUrl } from '../../providers/azure/azure-blob-object-store.ts';
import { parseAzureStoreUrl } from '../../providers/azure/azure-store-url.ts';

const parse = (text: string, env: Record<string, string> = {}) => parseAzureStoreUrl(new URL(text), env);

describe('azblob:// URLs', () => {
  it('reads account, container and a nested prefix', () => {
    const options = parse('azblob://acme123/backups/prod/eu-west');
    assert.deepEqual(options, { account: 'acme123', container: 'backups', prefix: 'prod/eu-west' });
  });

  it('accepts no prefix and a trailing slash', () => {
    assert.equal(parse('azblob://acme123/backups').prefix, '');
    assert.equal(parse('azblob://acme123/backups/').prefix, '');
    assert.equal(parse('azblob://acme123/backups/repo/').prefix, 'repo');
  });

  it('reads endpoint, tiers per kind and immutability', () => {
    const options = parse('azblob://devstoreaccount1/vault/p?endpoint=http://127.0.0.1:10000/devstoreaccount1&tier.pack=Cool&tier.index=hot&immutable=30:Unlocked');
    assert.equal(options.endpoint, 'http://127.0.0.1:10000/devstoreaccount1');
    assert.deepEqual(options.accessTiers, { pack: 'Cool', index: 'Hot' });
    assert.deepEqual(options.immutability, { days: 30, mode: 'Unlocked' });
    assert.deepEqual(parse('azblob://acme123/vault?immutable=365:locked').immutability, { days: 365, mode: 'Locked' });
    assert.deepEqual(parse('azblob://acme123/vault?immutable=7').immutability, { days: 7, mode: 'Unlocked' });
  });

  it('takes a shared key from AZURE_STORAGE_KEY only, else leaves the credential to DefaultAzureCredential', () => {
    const key = Buffer.alloc(64, 3).toString('base64');
    const withKey = parse('azblob://acme123/vault', { AZURE_STORAGE_KEY: key });
    assert.ok(withKey.credential instanceof StorageSharedKeyCredential);
    assert.equal(withKey.credential.accountName, 'acme123');
    assert.equal(parse('azblob://acme123/vault', { AZURE_STORAGE_KEY: '' }).credential, undefined);
    assert.equal(parse('azblob://acme123/vault').credential, undefined);
  });

  it('builds a store that describes itself without endpoint or secrets', () => {
    const key = Buffer.alloc(64, 9).toString('base64');
    const store = azureStoreFromUrl(new URL('azblob://acme123/vault/a/b?endpoint=http://127.0.0.1:1/acme123&immutable=30:Locked'), { AZURE_STORAGE_KEY: key });
    assert.equal(store.description, 'azblob://acme123/vault/a/b');
    assert.deepEqual(store.capabilities, { conditionalWrites: false, objectLock: true, storageTiers: true });
    assert.equal(store.container.url, 'http://127.0.0.1:1/acme123/vault');
    // The client holds the key; logging or serializing the store shows the location only.
    for (const shown of [inspect(store, { depth: 10 }), JSON.stringify(store), String(store)]) {
      assert.ok(!shown.includes(key) && !shown.includes('<Buffer') && !shown.includes('accountKey'), shown);
    }
    assert.equal(inspect(store), 'AzureBlobObjectStore <azblob://acme123/vault/a/b>');
    assert.deepEqual(JSON.parse(JSON.stringify(store)), { description: 'azblob://acme123/vault/a/b', capabilities: store.capabilities });
    const defaultCredential = azureStoreFromUrl(new URL('azblob://acme123/vault'), {});
    assert.equal(defaultCredential.container.url, 'https://acme123.blob.core.windows.net/vault');
    assert.equal(defaultCredential.description, 'azblob://acme123/vault');
    assert.equal(defaultCredential.capabilities.objectLock, false);
  });

  const bad: Array<[string, RegExp]> = [
    ['s3://bucket/x', /expected azblob:\/\//],
    ['azblob://acme123', /no container/],
    ['azblob://Acme/vault', /storage account "acme"|storage account "Acme"/],
    ['azblob://ab/vault', /storage account "ab"/],
    ['azblob://acme123/Bad_Name', /container "Bad_Name"/],
    ['azblob://acme123/a--b', /container "a--b"/],
    ['azblob://acme123/vault/bad%20segment', /prefix "bad segment"/],
    ['azblob://acme123/vault/a//b', /prefix "a\/\/b"/],
    ['azblob://acme123/vault/../x', /expected/],
    ['azblob://acme123/vault?tier.pack=Freezing', /parameter tier\.pack: "Freezing", expected one of Hot, Cool, Cold, Archive/],
    ['azblob://acme123/vault?tier.blob=Hot', /parameter tier\.blob: unknown object kind "blob"/],
    ['azblob://acme123/vault?immutable=abc', /parameter immutable: "abc"/],
    ['azblob://acme123/vault?immutable=0:Locked', /parameter immutable: 0 days/],
    ['azblob://acme123/vault?immutable=30:Forever', /parameter immutable: "Forever"/],
    ['azblob://acme123/vault?endpoint=not-a-url', /parameter endpoint: "not-a-url" is not a URL/],
    ['azblob://acme123/vault?endpoint=ftp://host/x', /parameter endpoint: expected an http\(s\) URL/],
    ['azblob://acme123/vault?endpoint=' + encodeURIComponent('https://acme123.blob.core.windows.net?sv=2024&sig=abc'), /parameter endpoint: .*no SAS tokens/],
    ['azblob://acme123/vault?sas=abc', /unknown parameter "sas"/],
    ['azblob://acme123/vault?tier.pack=Cool&tier.pack=Hot', /parameter tier\.pack appears twice/],
    ['azblob://acme123/vault#frag', /fragment/],
  ];
  for (const [text, expected] of bad) {
    it(`rejects ${text}`, () => {
      assert.throws(() => parse(text), (err: unknown) => {
        assert.ok(err instanceof InvalidArgumentError, `expected InvalidArgumentError, got ${String(err)}`);
        assert.match(err.message, expected);
        return true;
      });
    });
  }

  it('refuses credentials in the URL without echoing them', () => {
    assert.throws(
      () => parse('azblob://user:hunter2secret@acme123/vault'),
      (err: unknown) => err instanceof InvalidArgumentError && /never read from the URL/.test(err.message) && !err.message.includes('hunter2secret'),
    );
  });
});
