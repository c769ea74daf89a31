// The AWS KMS key provider through the real SDK client against a KMS wire-protocol test server.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { ManualClock } from '../../core/clock.ts';
import { CloudkeepError, InvalidArgumentError, WrongKeyError } from '../../core/errors.ts';
import { Repository } from '../../core/repo/repository.ts';
import { listAll } from '../../core/store/object-store.ts';
import { MemoryObjectStore } from '../../providers/memory/memory-object-store.ts';
import { AwsKmsKeyProvider, KMS_PURPOSE } from '../../providers/aws/kms-key-provider.ts';
import { KmsTestServer } from '../support/kms-test-server.ts';
import { passphrase, SMALL_PARAMS } from '../support/repo-fixture.ts';

let kms: KmsTestServer;
before(async () => {
  kms = await KmsTestServer.start('eu-west-1');
});
after(async () => {
  await kms.close();
});

function provider(keyId: string, extra: Partial<ConstructorParameters<typeof AwsKmsKeyProvider>[0]> = {}): AwsKmsKeyProvider {
  return new AwsKmsKeyProvider({ keyId, client: kms.client(), ...extra });
}

function resetSwitches(): void {
  kms.throttleNext = 0;
  kms.internalErrorNext = 0;
  kms.denyAccess = false;
  kms.deniedActions.clear();
}

/** The key's bytes in every encoding a leak would likely take. */
function encodings(key: Buffer): string[] {
  return [key.toString('hex'), key.toString('base64'), key.toString('base64url'), key.toString('latin1')];
}

function assertNoKeyMaterial(text: string, key: Buffer): void {
  for (const form of encodings(key)) assert.ok(!text.includes(form), 'key material leaked');
}

describe('AwsKmsKeyProvider', () => {
  it('wraps and unwraps through KMS; params name the key ARN, region and context, never a secret', async () => {
    const { arn } = kms.createKey('alias/roundtrip');
    const p = provider('alias/roundtrip');
    const master = randomBytes(32);
    const wrapped = await p.wrap(master);
    assert.equal(wrapped.provider, 'aws-kms');
    assert.deepEqual(wrapped.params, { keyId: arn, region: 'eu-west-1', encryptionContext: { purpose: KMS_PURPOSE } });
    assertNoKeyMaterial(JSON.stringify(wrapped), master);
    const encrypt = kms.requests.findLast((r) => r.target === 'Encrypt');
    assert.deepEqual(encrypt?.encryptionContext, { purpose: KMS_PURPOSE });
    const opened = await p.unwrap(wrapped);
    assert.ok(opened?.equals(master));
    // A provider built from the stored ARN opens it too.
    assert.ok((await provider(arn).unwrap(wrapped))?.equals(master));
  });

  it('returns null, without asking KMS, for a key object of another provider', async () => {
    const before = kms.requests.length;
    assert.equal(await provider('alias/roundtrip').unwrap({ provider: 'passphrase', params: {}, wrapped: 'AAAA' }), null);
    assert.equal(kms.requests.length, before);
  });

  it('returns null for a key object of another KMS key (by ARN, by alias, and when KMS must decide)', async () => {
    const a = kms.createKey('alias/key-a');
    const b = kms.createKey('alias/key-b');
    const wrapped = await provider(a.arn).wrap(randomBytes(32));
    assert.equal(await provider(b.arn).unwrap(wrapped), null);
    assert.equal(await provider('alias/key-b').unwrap(wrapped), null);
    // DescribeKey not allowed: the provider cannot resolve its alias, so KMS answers IncorrectKeyException.
    kms.deniedActions.add('DescribeKey');
    try {
      const before = kms.requests.length;
      assert.equal(await provider('alias/key-b').unwrap(wrapped), null);
      assert.ok(kms.requests.slice(before).some((r) => r.target === 'Decrypt'));
    } finally {
      resetSwitches();
    }
  });

  it('returns null for a wrong encryption context: another provider context, or an edited key object', async () => {
    const { arn } = kms.createKey();
    const master = randomBytes(32);
    const wrapped = await provider(arn, { encryptionContext: { repository: 'alpha' } }).wrap(master);
    assert.deepEqual(wrapped.params.encryptionContext, { repository: 'alpha', purpose: KMS_PURPOSE });
    assert.ok((await provider(arn).unwrap(wrapped))?.equals(master), 'the stored context suffices');
    assert.equal(await provider(arn, { encryptionContext: { repository: 'beta' } }).unwrap(wrapped), null);
    const edited = { ...wrapped, params: { ...wrapped.params, encryptionContext: { repository: 'beta', purpose: KMS_PURPOSE } } };
    assert.equal(await provider(arn).unwrap(edited), null);
    const tampered = Buffer.from(wrapped.wrapped, 'base64');
    tampered[tampered.length - 1] ^= 1;
    assert.equal(await provider(arn).unwrap({ ...wrapped, wrapped: tampered.toString('base64') }), null);
  });

  it('rides out throttling answered twice (the SDK retries), then succeeds', async () => {
    const { arn } = kms.createKey();
    const master = randomBytes(32);
    const wrapped = await provider(arn).wrap(master);
    kms.throttleNext = 2;
    const before = kms.requests.length;
    try {
      assert.ok((await provider(arn).unwrap(wrapped))?.equals(master));
    } finally {
      resetSwitches();
    }
    assert.equal(kms.requests.slice(before).filter((r) => r.target === 'Decrypt').length, 3);
  });

  it('throttling or 5xx past the SDK retries raises a retryable CloudkeepError', async () => {
    const { arn } = kms.createKey();
    const wrapped = await provider(arn).wrap(randomBytes(32));
    const fast = provider(arn, { client: kms.client({ maxAttempts: 1 }) });
    kms.throttleNext = 1;
    await assert.rejects(fast.unwrap(wrapped), (err) => err instanceof CloudkeepError && err.retryable && /ThrottlingException/.test(err.message));
    kms.internalErrorNext = 1;
    await assert.rejects(fast.wrap(randomBytes(32)), (err) => err instanceof CloudkeepError && err.retryable && /KMSInternalException/.test(err.message));
    resetSwitches();
  });

  it('access denied raises a clear, non-retryable error naming the key, with no key material', async () => {
    const { arn } = kms.createKey('alias/denied');
    const master = randomBytes(32);
    const wrapped = await provider(arn).wrap(master);
    kms.denyAccess = true;
    try {
      for (const attempt of [() => provider(arn).unwrap(wrapped), () => provider('alias/denied').unwrap(wrapped), () => provider(arn).wrap(master)]) {
        await assert.rejects(attempt(), (err) => {
          assert.ok(err instanceof CloudkeepError, String(err));
          assert.equal(err.retryable, false);
          assert.match(err.message, /access denied/);
          assert.ok(err.message.includes(arn) || err.message.includes('alias/denied'), err.message);
          assertNoKeyMaterial(inspect(err, { depth: 8 }), master);
          return true;
        });
      }
    } finally {
      resetSwitches();
    }
  });

  it('a disabled key and an unknown alias raise clear errors naming the key', async () => {
    const { arn } = kms.createKey();
    const wrapped = await provider(arn).wrap(randomBytes(32));
    kms.setEnabled(arn, false);
    await assert.rejects(provider(arn).unwrap(wrapped), (err) => err instanceof CloudkeepError && /disabled/.test(err.message) && err.message.includes(arn));
    await assert.rejects(provider('alias/missing').wrap(randomBytes(32)), (err) => err instanceof CloudkeepError && /not found/.test(err.message) && err.message.includes('alias/missing'));
    await assert.rejects(provider('alias/missing').unwrap(wrapped), (err) => err instanceof CloudkeepError && /not found/.test(err.message));
  });

  it('rejects malformed key references and a region that contradicts the ARN', () => {
    assert.throws(() => new AwsKmsKeyProvider({ keyId: 'my-key' }), InvalidArgumentError);
    assert.throws(() => new AwsKmsKeyProvider({ keyId: 'arn:aws:s3:::bucket' }), InvalidArgumentError);
    assert.throws(() => new AwsKmsKeyProvider({ keyId: `arn:aws:kms:us-east-1:111122223333:key/${'0'.repeat(8)}-0000-0000-0000-${'0'.repeat(12)}`, region: 'eu-west-1' }), InvalidArgumentError);
    assert.throws(() => new AwsKmsKeyProvider({ keyId: 'alias/x', encryptionContext: { purpose: 'other' } }), InvalidArgumentError);
  });
});

describe('a repository keyed by AWS KMS with a passphrase for disaster recovery', () => {
  it('opens with either key alone; removing the KMS key leaves the passphrase working', async () => {
    const { arn } = kms.createKey('alias/repo');
    const clock = new ManualClock();
    const store = new MemoryObjectStore({ clock });
    const repo = await Repository.init(store, provider('alias/repo'), SMALL_PARAMS, clock);
    const recovery = await repo.addKey(passphrase());
    const master = repo.master.exportRaw();

    // No stored object holds the master key in any encoding.
    for (const info of await listAll(store, '')) {
      const raw = await store.get(info.key);
      assert.ok(!raw.includes(master), `${info.key} holds the raw master key`);
      assertNoKeyMaterial(raw.toString('latin1'), master);
    }
    const keys = await Repository.listKeys(store);
    const kmsKey = keys.find((k) => k.provider === 'aws-kms');
    assert.equal(kmsKey?.params.keyId, arn);

    assert.equal((await Repository.open(store, [provider(arn)], clock)).config.id, repo.config.id);
    assert.equal((await Repository.open(store, [passphrase()], clock)).config.id, repo.config.id);

    await repo.removeKey(kmsKey!.id);
    assert.equal((await Repository.open(store, [passphrase()], clock)).config.id, repo.config.id);
    await assert.rejects(Repository.open(store, [provider(arn)], clock), WrongKeyError);
    assert.ok((await Repository.listKeys(store)).every((k) => k.id === recovery.id));
  });

  it('a KMS key of another repository does not open it (WrongKeyError)', async () => {
    const mine = kms.createKey();
    const other = kms.createKey();
    const clock = new ManualClock();
    const store = new MemoryObjectStore({ clock });
    await Repository.init(store, provider(mine.arn), SMALL_PARAMS, clock);
    await assert.rejects(Repository.open(store, [provider(other.arn)], clock), WrongKeyError);
  });
});
