// The backup state machine's definition for local runs: synthesized from the CDK app (infra/), cached
// in <checkout>/.cloudkeep/cache/ under a hash of infra/, cdk.json and the aws-cdk-lib version.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { InvalidArgumentError } from '../core/errors.ts';
import { LOCAL_REGION } from '../providers/local/local-discovery.ts';
import { LOCAL_ACCOUNT } from './local-run.ts';
import { stateMachineDefinition } from './template-definition.ts';

export type Definition = Record<string, unknown>;
type Resources = Record<string, { Type: string; Properties?: Record<string, unknown> }>;

/** The backup state machine's name in the control-plane stack (infra/control-plane-stack.ts). */
const BACKUP_STATE_MACHINE = 'cloudkeep-backup';

/** Bump when synthesizeDefinition's output changes for the same sources. */
const CACHE_FORMAT = 1;

/**
 * The source checkout holding cdk.json and infra/ (from cli/ or dist/cli/). infra/ is imported by path,
 * not by a literal specifier, so the CLI build does not compile the CDK app into dist/.
 */
export function projectRoot(): URL {
  for (const up of ['../', '../../']) {
    const root = new URL(up, import.meta.url);
    if (existsSync(new URL('cdk.json', root)) && existsSync(new URL('infra/cloudkeep-app.ts', root))) return root;
  }
  throw new InvalidArgumentError('local runs synthesize the state machine from the Cloudkeep sources: cdk.json and infra/ were not found next to the CLI');
}

interface CdkApp {
  buildCloudkeepApp(app: unknown, config: { nag?: boolean; memberTrust?: { controlPlaneRoleArn: string; externalId: string } }): unknown;
}

/** Synthesizes the control-plane stack (no bundling, no validation, no cdk-nag) and returns its state machine definition. */
export async function synthesizeDefinition(): Promise<Definition> {
  const root = projectRoot();
  const context = (JSON.parse(readFileSync(new URL('cdk.json', root), 'utf8')) as { context?: Record<string, unknown> }).context ?? {};
  const { App } = await import('aws-cdk-lib');
  const { buildCloudkeepApp } = (await import(new URL('infra/cloudkeep-app.ts', root).href)) as CdkApp;
  const app = new App({ context: { ...context, 'aws:cdk:bundling-stacks': [] }, builtinCloudFormationValidation: false });
  buildCloudkeepApp(app, { nag: false, memberTrust: { controlPlaneRoleArn: `arn:aws:iam::${LOCAL_ACCOUNT}:role/cloudkeep-local`, externalId: 'cloudkeep-local' } });
  const template = app.synth().getStackByName('CloudkeepControlPlane').template as { Resources: Resources };
  return stateMachineDefinition(template, BACKUP_STATE_MACHINE, { account: LOCAL_ACCOUNT, region: LOCAL_REGION, stackName: 'local', service: 'local' });
}

/** A hash of what the definition is made from: infra/*.ts, cdk.json and the installed aws-cdk-lib version. */
function sourceHash(root: URL): string {
  const hash = createHash('sha256').update(`format ${CACHE_FORMAT}\0`);
  const infra = new URL('infra/', root);
  for (const name of readdirSync(infra).filter((n) => n.endsWith('.ts')).sort()) hash.update(`${name}\0`).update(readFileSync(new URL(name, infra))).update('\0');
  hash.update(readFileSync(new URL('cdk.json', root)));
  const cdkLib = new URL('node_modules/aws-cdk-lib/package.json', root);
  if (existsSync(cdkLib)) hash.update(String((JSON.parse(readFileSync(cdkLib, 'utf8')) as { version?: string }).version));
  return hash.digest('hex').slice(0, 24);
}

/**
 * The definition from the cache when infra/ is unchanged, else synthesized (seconds) and cached.
 * `synthesized` says which; the cache file is written by temp file + rename.
 */
export async function loadDefinition(): Promise<{ definition: Definition; synthesized: boolean; cacheFile: string }> {
  const root = projectRoot();
  const dir = new URL('.cloudkeep/cache/', root);
  const cacheFile = fileURLToPath(new URL(`state-machine-${sourceHash(root)}.json`, dir));
  try {
    return { definition: JSON.parse(await readFile(cacheFile, 'utf8')) as Definition, synthesized: false, cacheFile };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT' && !(err instanceof SyntaxError)) throw err;
  }
  const definition = await synthesizeDefinition();
  await mkdir(dir, { recursive: true });
  const temp = `${cacheFile}.${randomBytes(6).toString('hex')}.tmp`;
  await writeFile(temp, JSON.stringify(definition));
  await rename(temp, cacheFile);
  return { definition, synthesized: true, cacheFile };
}
