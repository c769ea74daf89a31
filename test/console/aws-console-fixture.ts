// The console as deployed on AWS, on loopback: the built files with a /config.json, behind a CSP front
// (CloudFront), signing in through a fake Cognito hosted UI, against the API with the Cognito
// authenticator (the fake's keys preloaded) and a fake restore service of the AWS kinds.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backupResource } from '../../core/engine/backup.ts';
import { instanceConfigTags } from '../../core/orchestration/instance-config.ts';
import type { ResourceRef } from '../../core/repo/manifest.ts';
import type { Authenticator } from '../../functions/api/auth.ts';
import { CognitoAuthenticator } from '../../functions/api/cognito-auth.ts';
import { startLocalServer } from '../../functions/api/local-server.ts';
import { buildApi } from '../../functions/api/routes.ts';
import { MemoryControlStore } from '../../providers/memory/memory-control-store.ts';
import { A } from '../api/api-fixture.ts';
import { FixedInventory, FixedSnapshots } from '../api/fakes.ts';
import { BufferSnapshotSource } from '../support/buffer-volume.ts';
import { startFakeCognito } from '../support/fake-cognito.ts';
import { mixedImage } from '../support/images.ts';
import { makeRepo } from '../support/repo-fixture.ts';
import { awsConsoleCsp, startCspFront } from './csp-front.ts';
import { buildConsole, openBrowser } from './console-fixture.ts';
import { FakeAwsRestores } from './fake-aws-restores.ts';

export const REGION = 'eu-west-1';
const POOL = `${REGION}_ConsoleTest`;
const CLIENT = 'console-test-client-0123456789';
const TAGS = { 'cloudkeep:policy': 'web-nightly' };

/** A volume point (snapshot and volume restores) and an instance point recording its configuration (all kinds). */
async function points() {
  const { repo, processor } = await makeRepo();
  const source = new BufferSnapshotSource(64 * 1024);
  const backup = async (resource: ResourceRef, volumeId: string, tags: Record<string, string>) => {
    const snapshot = source.snapshot(volumeId, mixedImage(volumeId, 200 * 1024));
    return backupResource({ repo, index: await repo.loadIndex(), source, processor }, { resource, disks: [{ name: 'root', snapshot }], tags });
  };
  const volume = await backup({ id: 'vol-0aaa1111', kind: 'volume', provider: 'aws', account: A, region: REGION }, 'vol-0aaa1111', TAGS);
  const config = { instanceType: 'm7i.large', subnetId: 'subnet-0123abcd', securityGroupIds: ['sg-0123abcd'], availabilityZone: `${REGION}b`, architecture: 'x86_64', rootDeviceName: '/dev/xvda', enaSupport: true, devices: { 'vol-0bbb2222': '/dev/xvda' } };
  const instance = await backup({ id: 'i-0ccc3333', kind: 'instance', provider: 'aws', account: A, region: REGION }, 'vol-0bbb2222', { ...TAGS, ...instanceConfigTags(config) });
  return { repo, volume, instance };
}

/** The Cognito authenticator, remembering the bearer tokens it was shown. */
class RecordingAuthenticator implements Authenticator {
  readonly kind = 'cognito' as const;
  readonly seen: string[] = [];
  private readonly inner: CognitoAuthenticator;

  constructor(inner: CognitoAuthenticator) {
    this.inner = inner;
  }

  authenticate(authorization: string | undefined) {
    this.seen.push(authorization ?? '');
    return this.inner.authenticate(authorization);
  }
}

export async function startAwsConsole() {
  const dir = await mkdtemp(join(tmpdir(), 'cloudkeep-aws-console-'));
  const site = join(dir, 'site');
  const cleanups: Array<() => Promise<unknown>> = [() => rm(dir, { recursive: true, force: true })];
  const close = async () => {
    for (const c of cleanups.reverse()) await c().catch(() => {});
  };
  try {
    await buildConsole(site);
    const cognito = await startFakeCognito({ region: REGION, userPoolId: POOL, clientId: CLIENT, claims: { 'cognito:username': 'alice', email: 'alice@example.com', 'custom:accounts': A } });
    cleanups.push(cognito.close);
    await writeFile(join(site, 'config.json'), JSON.stringify({ region: REGION, userPoolId: POOL, userPoolClientId: CLIENT, signInUrl: cognito.url, apiBase: '/api' }));
    const { repo, volume, instance } = await points();
    const restores = new FakeAwsRestores((id) => [volume, instance].find((m) => m.id === id)?.stats.bytesTotal ?? 0);
    const auth = new RecordingAuthenticator(new CognitoAuthenticator({ userPoolId: POOL, clientId: CLIENT, jwks: cognito.jwks }));
    const router = buildApi({ authenticator: auth, store: new MemoryControlStore(), repo, restores, inventory: new FixedInventory(), snapshots: new FixedSnapshots() });
    const origin = await startLocalServer(router, 0, '127.0.0.1', { staticDir: site });
    cleanups.push(origin.close);
    const front = await startCspFront(origin.url, awsConsoleCsp([cognito.url]));
    cleanups.push(front.close);
    cognito.state.allowedRedirects.add(`${front.url}/`);
    const browser = await openBrowser(join(dir, 'profile'));
    cleanups.push(() => browser.context.close());
    return { ...browser, url: front.url, cognito, auth, restores, volume, instance, close };
  } catch (err) {
    await close();
    throw err;
  }
}
