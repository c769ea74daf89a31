// Builds the worker bundle with esbuild into worker-image/dist/ (git-ignored): the files an EC2 worker image ships.
//
// Build:  npx node worker-image/build.ts [outDir]          (default worker-image/dist)
// Check:  node worker-image/dist/worker-main.js --self-test (no node_modules needed; exits 0 when sound)
//
// The bundle directory holds:
//   worker-main.js    the worker program (everything bundled: AWS SDK, zod, piscina, Powertools, core)
//   block-worker.js   the block processor's thread code (ThreadBlockProcessor loads ./block-worker.js)
//   worker.js         piscina's thread entry; chunk-*.js: code the three entries share
//   node_modules/@napi-rs/blake-hash*  the BLAKE3 native addon, external to the bundle and copied as is
//   bootstrap.sh      boot script: user data -> /etc/cloudkeep/task.json, run the worker, shutdown -h now
//   image-builder-component.yaml  EC2 Image Builder component: Node 22+ from AL2023's packages, this bundle from S3
//
// Image: upload the bundle directory (e.g. `aws s3 sync worker-image/dist s3://<artifacts>/worker/<version>/`),
// then build an AMI with the component (parameter BundleS3Uri). The launch template passes the task document as
// user data and sets instance-initiated shutdown behavior = terminate; nothing is downloaded from the internet at boot.
import { cp, mkdir, readdir, rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..');

/** Native addons: not bundled, copied with their platform packages. */
const NATIVE = ['@napi-rs/blake-hash'];
/** Optional native addons left out: piscina uses @napi-rs/nice only for a niceIncrement, which the worker does not set. */
const OPTIONAL = ['@napi-rs/nice'];

// An ESM bundle of CommonJS dependencies needs require, __filename and __dirname.
const BANNER = [
  "import { createRequire as __ckCreateRequire } from 'node:module';",
  "import { fileURLToPath as __ckFileURLToPath } from 'node:url';",
  "import { dirname as __ckDirname } from 'node:path';",
  'const require = __ckCreateRequire(import.meta.url);',
  'const __filename = __ckFileURLToPath(import.meta.url);',
  'const __dirname = __ckDirname(__filename);',
].join('\n');

export interface BuildResult {
  outDir: string;
  files: string[];
}

export async function buildWorker(outDir = join(here, 'dist')): Promise<BuildResult> {
  const out = resolve(outDir);
  await rm(out, { recursive: true, force: true });
  await mkdir(out, { recursive: true });
  await build({
    absWorkingDir: root,
    // piscina starts each thread on its own worker.js (next to its code: `${__dirname}/worker.js`), which then
    // loads block-worker.js; the three share chunks, so piscina's symbols are one instance in a thread.
    entryPoints: {
      'worker-main': join(here, 'worker-main.ts'),
      'block-worker': join(here, 'block-worker.ts'),
      worker: join(root, 'node_modules', 'piscina', 'dist', 'worker.js'),
    },
    splitting: true,
    chunkNames: 'chunk-[hash]',
    outdir: out,
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'esm',
    outExtension: { '.js': '.js' },
    external: [...NATIVE, ...OPTIONAL].flatMap((n) => [n, `${n}-*`]),
    banner: { js: BANNER },
    // Some SDK packages pick their Node build through the "module"/"main" fields.
    mainFields: ['module', 'main'],
    sourcemap: 'linked',
    legalComments: 'none',
    logLevel: 'warning',
  });
  await copyNative(out);
  for (const f of ['bootstrap.sh', 'image-builder-component.yaml']) await cp(join(here, f), join(out, f));
  // Marks the bundle as ESM for node, whatever the directory above it says.
  await (await import('node:fs/promises')).writeFile(join(out, 'package.json'), `${JSON.stringify({ type: 'module', private: true }, null, 2)}\n`);
  return { outDir: out, files: (await readdir(out)).sort() };
}

/** Copies each native package and its installed platform packages (e.g. blake-hash-linux-x64-gnu) into out/node_modules. */
async function copyNative(out: string): Promise<void> {
  for (const name of NATIVE) {
    const [scope, pkg] = name.split('/');
    const from = join(root, 'node_modules', scope);
    const to = join(out, 'node_modules', scope);
    await mkdir(to, { recursive: true });
    const matches = (await readdir(from)).filter((d) => d === pkg || d.startsWith(`${pkg}-`));
    if (!matches.includes(pkg)) throw new Error(`${name} is not installed: run npm ci first`);
    if (matches.length < 2) throw new Error(`${name} has no platform package installed for ${process.platform}-${process.arch}`);
    for (const d of matches) await cp(join(from, d), join(to, d), { recursive: true, dereference: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const r = await buildWorker(process.argv[2]);
  process.stdout.write(`worker bundle in ${r.outDir}: ${r.files.filter((f) => !f.startsWith('chunk-')).join(', ')} and ${r.files.filter((f) => f.startsWith('chunk-')).length} chunk files\n`);
}
