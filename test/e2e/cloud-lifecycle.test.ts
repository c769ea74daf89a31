// "Cloud repositories" done-when: create, back up, restore, verify and prune on S3 (fauxqs), Azure Blob
// (Azurite) and a scale-out repository of mixed stores, with AWS KMS and Azure Key Vault keys.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { systemClock } from '../../core/clock.ts';
import { verifyRepository } from '../../core/maintenance/verify.ts';
import { Repository } from '../../core/repo/repository.ts';
import { evacuateExtent } from '../../core/store/evacuate-extent.ts';
import { ScaleOutObjectStore, type Extent } from '../../core/store/scale-out-store.ts';
import { AwsKmsKeyProvider } from '../../providers/aws/kms-key-provider.ts';
import { S3ObjectStore } from '../../providers/aws/s3-object-store.ts';
import { AzureBlobObjectStore } from '../../providers/azure/azure-blob-object-store.ts';
import { AzureKeyVaultKeyProvider } from '../../providers/azure/keyvault-key-provider.ts';
import { FileObjectStore } from '../../providers/local/file-object-store.ts';
import { startAzurite, type Azurite } from '../support/azurite.ts';
import { packKeys, processorFor, restoreBytes, runLifecycle } from '../support/cloud-lifecycle.ts';
import { FAUXQS_CREDENTIALS, FAUXQS_REGION, startFauxqs, type Fauxqs } from '../support/fauxqs.ts';
import { FakeTokenCredential, KeyVaultTestServer } from '../support/keyvault-test-server.ts';
import { KmsTestServer } from '../support/kms-test-server.ts';
import { passphrase } from '../support/repo-fixture.ts';

const TIMEOUT = { timeout: 180_000 };
// The test vault serves plain HTTP on 127.0.0.1 (see keyvault-key-provider.test.ts).
const VAULT_CLIENT_OPTIONS = { allowInsecureConnection: true, disableChallengeResourceVerification: true, retryOptions: { maxRetries: 3, retryDelayInMs: 5, maxRetryDelayInMs: 20 } };

// Each emulator once per file, started on first use; stopped by the file's last hook.
let fauxqsStarting: Promise<Fauxqs> | undefined;
let azuriteStarting: Promise<Azurite> | undefined;
const fauxqs = () => (fauxqsStarting ??= startFauxqs());
const azurite = () => (azuriteStarting ??= startAzurite());
let kms: KmsTestServer;
let vault: KeyVaultTestServer;
const tempDirs: string[] = [];
before(async () => {
  kms = await KmsTestServer.start(FAUXQS_REGION);
  vault = await KeyVaultTestServer.start();
});
after(async () => {
  await Promise.all([fauxqsStarting?.then((f) => f.stop()), azuriteStarting?.then((a) => a.stop()), kms?.close(), vault?.close()]);
  for (const dir of tempDirs) await rm(dir, { recursive: true, force: true });
});

async function s3Store(prefix: string): Promise<S3ObjectStore> {
  const f = await fauxqs();
  return new S3ObjectStore({ bucket: f.bucket, prefix: `${prefix}-${randomBytes(4).toString('hex')}`, region: FAUXQS_REGION, endpoint: f.endpoint, credentials: FAUXQS_CREDENTIALS });
}

async function azureStore(prefix: string): Promise<AzureBlobObjectStore> {
  return new AzureBlobObjectStore({ containerClient: await (await azurite()).createContainer(), prefix });
}

const kmsKey = (keyId: string) => new AwsKmsKeyProvider({ keyId, client: kms.client() });
const vaultKey = (keyId: string) => new AzureKeyVaultKeyProvider({ keyId, credential: new FakeTokenCredential(), clientOptions: VAULT_CLIENT_OPTIONS });

describe('cloud repository lifecycle', () => {
  it('S3 (fauxqs) with an AWS KMS key and a passphrase recovery key', TIMEOUT, async () => {
    const { arn } = kms.createKey('alias/e2e-s3');
    const store = await s3Store('e2e/s3');
    let result;
    try {
      result = await runLifecycle(
        {
          store,
          initKey: kmsKey('alias/e2e-s3'),
          recoveryKey: passphrase('recovery words'),
          expectedKeyProviders: ['aws-kms', 'passphrase'],
          reopenWith: () => {
            // The recovery key alone must do: KMS now refuses everything.
            kms.denyAccess = true;
            return [passphrase('recovery words')];
          },
        },
        's3',
      );
    } finally {
      kms.denyAccess = false;
    }
    // The KMS key was used to create the repository and, with access restored, still opens it.
    assert.ok(kms.requests.some((r) => r.target === 'Encrypt' && r.keyId === 'alias/e2e-s3'));
    const viaKms = await Repository.open(store, [kmsKey(arn)], systemClock);
    assert.ok((await restoreBytes(viaKms, result.incremental)).equals(result.day2));
  });

  it('Azure Blob (Azurite) with an Azure Key Vault key', TIMEOUT, async () => {
    const { id } = vault.createKey('e2e-azure');
    const store = await azureStore('e2e/azure');
    const unwraps = () => vault.requests.filter((r) => r.path.endsWith('/unwrapkey')).length;
    let before = 0;
    await runLifecycle(
      {
        store,
        initKey: vaultKey(id),
        expectedKeyProviders: ['azure-keyvault'],
        reopenWith: () => {
          before = unwraps();
          return [vaultKey(id)];
        },
      },
      'azure',
    );
    assert.ok(unwraps() > before, 'reopening unwrapped the master key in Key Vault');
  });

  it('scale-out repository over an S3 prefix, an Azurite container and a local directory (performance)', TIMEOUT, async () => {
    const { arn } = kms.createKey();
    const dir = await mkdtemp(join(tmpdir(), 'cloudkeep-e2e-'));
    tempDirs.push(dir);
    const extents: Extent[] = [
      { id: 's3', store: await s3Store('e2e/scale-out') },
      { id: 'azure', store: await azureStore('e2e/scale-out') },
      { id: 'local', store: new FileObjectStore(dir) },
    ];
    const store = new ScaleOutObjectStore({ extents, policy: 'performance' });
    const result = await runLifecycle({ store, initKey: kmsKey(arn), expectedKeyProviders: ['aws-kms'], reopenWith: () => [kmsKey(arn)] }, 'scale-out');

    // Performance placement: the full's packs on one extent, the incremental's on another.
    const extentOf = new Map<string, string>();
    for (const e of extents) for (const k of await packKeys(e.store)) extentOf.set(k, e.id);
    const survivingFull = [...result.fullPacks].filter((k) => !result.deleted.has(k));
    const fullExtents = new Set(survivingFull.map((k) => extentOf.get(k)));
    const incrExtents = new Set([...result.incrementalPacks].map((k) => extentOf.get(k)));
    assert.equal(fullExtents.size, 1, `full packs on ${[...fullExtents]}`);
    assert.equal(incrExtents.size, 1, `incremental packs on ${[...incrExtents]}`);
    assert.notEqual([...fullExtents][0], [...incrExtents][0]);
    // Metadata only on the first extent.
    for (const e of extents.slice(1)) {
      for await (const info of e.store.list('')) assert.ok(info.key.startsWith('packs/'), `${info.key} on extent ${e.id}`);
    }

    // Evacuate the non-metadata extent holding the most packs.
    const counts = extents.slice(1).map((e) => ({ e, n: [...extentOf.values()].filter((id) => id === e.id).length }));
    const { e: victim, n } = counts.sort((a, b) => b.n - a.n)[0];
    assert.ok(n > 0);
    const allBefore = await packKeys(store);
    victim.maintenance = true;
    const report = await evacuateExtent(store, victim.id);
    assert.equal(report.packs, n);
    assert.equal((await packKeys(victim.store)).size, 0, 'the evacuated extent still holds packs');
    assert.deepEqual([...(await packKeys(store))].sort(), [...allBefore].sort());

    const repo = await Repository.open(store, [kmsKey(arn)], systemClock);
    assert.ok((await restoreBytes(repo, result.incremental)).equals(result.day2), 'restore after evacuation differs');
    const verified = await verifyRepository(repo, processorFor(repo), { full: true });
    assert.deepEqual(verified.problems, []);
    assert.equal(verified.ok, true);
    // A fresh scale-out store (another process) over the same extents finds the moved packs too.
    const fresh = new ScaleOutObjectStore({ extents: extents.map((e) => ({ ...e })), policy: 'performance' });
    const reopened = await Repository.open(fresh, [kmsKey(arn)], systemClock);
    assert.ok((await restoreBytes(reopened, result.incremental)).equals(result.day2), 'restore through a fresh scale-out store differs');
  });
});
