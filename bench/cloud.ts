// `npx node bench/cloud.ts`: the repository on the S3 emulator (fauxqs) and Azurite with one generated image:
// throughput per step, requests per GiB written and read, restore bytes fetched vs stored, request cost per TiB.
// Second part of `npm run bench` (alone: `npm run bench:cloud`). Env: BENCH_CLOUD_SIZE (default: BENCH_SIZE, else
// 4GiB — the same seeded image as the local comparison), BENCH_CLOUD_TARGETS (s3,azure),
// BENCH_CLOUD_THREADS (processor threads, default all cores), BENCH_DIR (default bench/out), BENCH_KEEP=1 keeps the work dir.
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, release, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { S3Client } from '@aws-sdk/client-s3';
import type { ContainerClient } from '@azure/storage-blob';
import { systemClock } from '../core/clock.ts';
import { PassphraseKeyProvider } from '../core/crypto/passphrase-key-provider.ts';
import { runBackup } from '../core/engine/backup-session.ts';
import { restoreDisk } from '../core/engine/restore.ts';
import { verifyRepository } from '../core/maintenance/verify.ts';
import { DEFAULT_PARAMS } from '../core/repo/config.ts';
import { Repository } from '../core/repo/repository.ts';
import type { ObjectStore } from '../core/store/object-store.ts';
import { RetryingObjectStore } from '../core/store/retrying-object-store.ts';
import { parseSize } from '../core/util/units.ts';
import { S3ObjectStore } from '../providers/aws/s3-object-store.ts';
import { AzureBlobObjectStore } from '../providers/azure/azure-blob-object-store.ts';
import { FileVolumeSink } from '../providers/local/file-volume-sink.ts';
import { ImageFileSource } from '../providers/local/image-file-source.ts';
import { generateImage } from '../providers/local/image-generator.ts';
import { startAzurite } from '../test/support/azurite.ts';
import { FAUXQS_CREDENTIALS, FAUXQS_REGION, startFauxqs } from '../test/support/fauxqs.ts';
import { ThreadBlockProcessor } from '../worker-image/thread-block-processor.ts';
import { CountingObjectStore, bytes, diffTally, req, unionBytes, type Tally } from '../core/store/counting-object-store.ts';
import { GiB, MiB, sha256File } from './measure.ts';

const ROOT = resolve(import.meta.dirname, '..');
const SEED = 'cloudkeep-bench';
const TiB = 1024 * GiB;
const PUT_TARGET_PER_GIB = 64;

const sizeText = process.env.BENCH_CLOUD_SIZE ?? process.env.BENCH_SIZE ?? '4GiB';
const size = parseSize(sizeText, 'BENCH_CLOUD_SIZE');
const targets = (process.env.BENCH_CLOUD_TARGETS ?? 's3,azure').split(',').map((t) => t.trim()).filter(Boolean);
const threads = process.env.BENCH_CLOUD_THREADS ? Number(process.env.BENCH_CLOUD_THREADS) : availableParallelism();
const outDir = resolve(process.env.BENCH_DIR ?? join(ROOT, 'bench/out'));
const work = join(outDir, 'cloud-work');
const keep = process.env.BENCH_KEEP === '1';
const say = (line: string) => process.stdout.write(`${line}\n`);

for (const t of targets) if (t !== 's3' && t !== 'azure') throw new Error(`BENCH_CLOUD_TARGETS: unknown target ${JSON.stringify(t)}; expected s3 and/or azure`);

// ---- list prices (assumed; USD, us-east-1 / East US, as published mid-2025; check the current price pages) ----
export const PRICES_AS_OF = '2025 list prices, assumed (not fetched at run time)';
interface PriceBook {
  name: string;
  /** USD per request, per counted operation class. */
  perRequest: Record<'put' | 'get' | 'get-range' | 'stat' | 'list' | 'delete', number>;
  text: string;
}
const S3_PRICES: PriceBook = {
  name: 'S3 Standard',
  perRequest: { put: 0.005 / 1000, list: 0.005 / 1000, get: 0.0004 / 1000, 'get-range': 0.0004 / 1000, stat: 0.0004 / 1000, delete: 0 },
  text: 'S3 Standard: PUT/COPY/POST/LIST $0.005 per 1,000; GET (and HEAD, "all other") $0.0004 per 1,000; DELETE free',
};
const AZURE_PRICES: PriceBook = {
  name: 'Azure Blob Hot LRS',
  perRequest: { put: 0.065 / 10_000, list: 0.065 / 10_000, get: 0.005 / 10_000, 'get-range': 0.005 / 10_000, stat: 0.005 / 10_000, delete: 0 },
  text: 'Azure Blob Hot LRS: write $0.065 per 10,000 ($0.0065/1,000); read $0.005 per 10,000; list $0.065 per 10,000; Get Properties priced as a read (assumption; "other operations" are about the same); Delete free',
};

type Phase = 'init' | 'backup' | 'restore' | 'verify';
const PHASES: Phase[] = ['init', 'backup', 'restore', 'verify'];

interface PhaseResult {
  seconds: number;
  tally: Tally;
  /** HTTP requests seen on the wire by the SDK hook, by operation. */
  wire: Record<string, number>;
}

interface TargetResult {
  target: string;
  store: string;
  prices: PriceBook;
  phases: Record<Phase, PhaseResult>;
  backup: { bytesNew: number; bytesStored: number; bytesZero: number; packsWritten: number; objectsWritten: number; bottleneck: string };
  restore: { bytesWritten: number; bytesRead: number; requests: number; bottleneck: string; identical: boolean; distinctPackBytes: number; packsTouched: number };
  verify: { ok: boolean; problems: number; packs: number; chunksChecked: number; bytesChecked: number };
}

/** Counts each HTTP attempt of the S3 client by command (after the SDK's own retries, so every attempt is seen). */
function hookS3(client: S3Client): Map<string, number> {
  const counts = new Map<string, number>();
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const headers = (args.request as { headers?: Record<string, string> }).headers ?? {};
      const op = `${(context.commandName ?? 'Unknown').replace(/Command$/, '')}${headers.range || headers.Range ? ' (ranged)' : ''}`;
      counts.set(op, (counts.get(op) ?? 0) + 1);
      return next(args);
    },
    { step: 'deserialize', name: 'cloudkeepBenchRequestCounter' },
  );
  return counts;
}

/** Counts each HTTP request of the Azure pipeline shared by the container client and its blob clients. */
function hookAzure(container: ContainerClient): Map<string, number> | null {
  const counts = new Map<string, number>();
  const pipeline = (container as unknown as { storageClientContext?: { pipeline?: { addPolicy(p: unknown, o?: unknown): void } } }).storageClientContext?.pipeline;
  if (!pipeline) return null;
  pipeline.addPolicy(
    {
      name: 'cloudkeepBenchRequestCounter',
      sendRequest(request: { method: string; url: string; headers: { get(n: string): string | undefined } }, next: (r: unknown) => Promise<unknown>) {
        const url = new URL(request.url);
        const comp = url.searchParams.get('comp');
        const ranged = request.headers.get('x-ms-range') || request.headers.get('range');
        const name =
          request.method === 'PUT' ? (comp === 'block' ? 'Put Block' : comp === 'blocklist' ? 'Put Block List' : comp ? `PUT comp=${comp}` : 'Put Blob')
          : request.method === 'GET' ? (comp === 'list' ? 'List Blobs' : comp ? `GET comp=${comp}` : ranged ? 'Get Blob (ranged)' : 'Get Blob')
          : request.method === 'HEAD' ? 'Get Blob Properties'
          : request.method === 'DELETE' ? 'Delete Blob'
          : request.method;
        counts.set(name, (counts.get(name) ?? 0) + 1);
        return next(request);
      },
    },
    { afterPhase: 'Retry' },
  );
  return counts;
}

async function withTarget<T>(target: string, fn: (store: ObjectStore, description: string, wire: Map<string, number> | null) => Promise<T>): Promise<T> {
  if (target === 's3') {
    // The child inherits NODE_OPTIONS at spawn, which startFauxqs does before its first await; restored right after.
    const saved = process.env.NODE_OPTIONS;
    process.env.NODE_OPTIONS = `${saved ?? ''} --import ${JSON.stringify(pathToFileURL(join(ROOT, 'bench/fauxqs-body-limit.ts')).href)}`.trim();
    const starting = startFauxqs({ bucket: 'cloudkeep-bench' });
    if (saved === undefined) delete process.env.NODE_OPTIONS;
    else process.env.NODE_OPTIONS = saved;
    const fx = await starting;
    try {
      const store = new S3ObjectStore({ bucket: fx.bucket, prefix: 'repo', region: FAUXQS_REGION, endpoint: fx.endpoint, forcePathStyle: true, credentials: FAUXQS_CREDENTIALS, requestTimeoutMs: 600_000 });
      return await fn(store, `fauxqs (S3 emulator) at ${fx.endpoint}`, hookS3(store.client));
    } finally {
      await fx.stop();
    }
  }
  const az = await startAzurite({});
  try {
    const container = await az.createContainer('cloudkeep-bench');
    const store = new AzureBlobObjectStore({ containerClient: container, prefix: 'repo' });
    return await fn(store, `Azurite (Blob) at ${az.endpoint}`, hookAzure(container));
  } finally {
    await az.stop();
  }
}

async function runTarget(target: string, imagePath: string, imageSha: string): Promise<TargetResult> {
  return withTarget(target, async (raw, description, wire) => {
    say(`\n== ${target}: ${description}`);
    const counting = new CountingObjectStore(raw);
    // As the CLI composes it: one retry layer above the adapter. Counting sits below it, so retried attempts are counted.
    const store = new RetryingObjectStore(counting, { onRetry: (e) => say(`  retry: ${JSON.stringify(e)}`) });
    const phases = {} as Record<Phase, PhaseResult>;
    const phase = async <T>(name: Phase, fn: () => Promise<T>): Promise<T> => {
      const before = counting.snapshot();
      const wireBefore = new Map(wire ?? []);
      const started = performance.now();
      const value = await fn();
      const seconds = (performance.now() - started) / 1000;
      const w: Record<string, number> = {};
      for (const [k, n] of wire ?? []) if (n - (wireBefore.get(k) ?? 0) > 0) w[k] = n - (wireBefore.get(k) ?? 0);
      phases[name] = { seconds, tally: diffTally(counting.snapshot(), before), wire: w };
      say(`  ${name}: ${seconds.toFixed(2)} s, ${summarizeTally(phases[name].tally)}`);
      return value;
    };
    const repo = await phase('init', () => Repository.init(store, new PassphraseKeyProvider('cloudkeep-bench'), DEFAULT_PARAMS, systemClock));
    const processor = new ThreadBlockProcessor(
      { chunking: repo.params.chunking, compressionLevel: repo.params.compression.level, chunkIdKey: repo.master.chunkIdKey, treeIdKey: repo.master.treeIdKey },
      threads,
    );
    try {
      const source = new ImageFileSource(imagePath);
      const manifest = await phase('backup', async () => {
        try {
          return await runBackup({ repo, source, processor, request: { resource: { id: 'bench-image', kind: 'volume', provider: 'local' }, disks: [{ name: 'root', snapshot: await source.ref() }] } });
        } finally {
          await source.close();
        }
      });
      const restorePath = join(work, `restored-${targetSlug(description)}.img`);
      const restored = await phase('restore', async () => {
        const index = await repo.loadIndexForRestore();
        const sink = new FileVolumeSink(restorePath);
        counting.trackRanges();
        return restoreDisk({ repo, index, processor }, manifest, 'root', sink).finally(() => sink.close());
      });
      const packRanges = [...counting.takeRanges()].filter(([key]) => key.startsWith('packs/'));
      const distinctPackBytes = packRanges.reduce((sum, [, ranges]) => sum + unionBytes(ranges), 0);
      const identical = (await sha256File(restorePath)) === imageSha;
      say(`  restore sha256 ${identical ? 'matches the image' : 'DIFFERS from the image'}`);
      await rm(restorePath, { force: true });
      const report = await phase('verify', () => verifyRepository(repo, processor, { full: true }));
      say(`  verify --full: ${report.ok ? 'clean' : `${report.problems.length} problems: ${JSON.stringify(report.problems.slice(0, 3))}`}`);
      const s = manifest.stats;
      return {
        target,
        store: description,
        prices: target === 's3' ? S3_PRICES : AZURE_PRICES,
        phases,
        backup: { bytesNew: s.bytesNew, bytesStored: s.bytesStored, bytesZero: s.bytesZero, packsWritten: s.packsWritten, objectsWritten: s.objectsWritten, bottleneck: s.bottleneck },
        restore: { bytesWritten: restored.bytesWritten, bytesRead: restored.bytesRead, requests: restored.requests, bottleneck: restored.bottleneck, identical, distinctPackBytes, packsTouched: packRanges.length },
        verify: { ok: report.ok, problems: report.problems.length, packs: report.packs, chunksChecked: report.chunksChecked, bytesChecked: report.bytesChecked },
      };
    } finally {
      await processor.close();
    }
  });
}

function targetSlug(description: string): string {
  return description.split(' ')[0].toLowerCase();
}

function summarizeTally(t: Tally): string {
  const ops = ['put', 'get', 'get-range', 'stat', 'list', 'delete'].filter((op) => req(t, op) > 0);
  return ops.map((op) => `${op}=${req(t, op)}${bytes(t, op) ? ` (${mib(bytes(t, op))} MiB)` : ''}`).join(', ') || 'no requests';
}

// ---- report ----
const mib = (n: number) => (n / MiB).toFixed(1);
const gib = (n: number) => n / GiB;
const fmt = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');
const usd = (n: number) => `$${n < 0.01 ? n.toFixed(4) : n.toFixed(3)}`;

function cost(t: Tally, prices: PriceBook): number {
  return (Object.keys(prices.perRequest) as Array<keyof PriceBook['perRequest']>).reduce((sum, op) => sum + req(t, op) * prices.perRequest[op], 0);
}

function writeRequests(t: Tally): number {
  return req(t, 'put');
}
function readRequests(t: Tally): number {
  return req(t, 'get') + req(t, 'get-range');
}

function render(results: TargetResult[], imageInfo: string, started: Date): string {
  const lines: string[] = [];
  const scale = TiB / size;
  lines.push(`# Cloudkeep on cloud emulators: ${sizeText} image`, '');
  lines.push(`Run ${started.toISOString()} on ${cpus()[0]?.model ?? 'unknown CPU'} (${availableParallelism()} cores, ${(totalmem() / GiB).toFixed(0)} GiB RAM, Linux ${release()}), Node ${process.version}, ${threads} processor threads.`);
  lines.push(`Image: ${imageInfo}. Repository: default parameters (512 KiB blocks, zstd 1, ${DEFAULT_PARAMS.packTargetSize / MiB} MiB packs), passphrase key, one full backup, restore to a file (sha256 checked), verify --full.`);
  lines.push('Emulators run on loopback on the same machine: throughput shows the request pattern and the emulators, not a cloud region.', '');

  lines.push('## Throughput per step', '');
  lines.push('| target | step | wall s | MiB/s | PUT | GET whole | GET ranged | HEAD | LIST | DELETE | MiB up | MiB down |');
  lines.push('|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|');
  for (const r of results) {
    for (const p of PHASES) {
      const ph = r.phases[p];
      const t = ph.tally;
      const basis = p === 'backup' || p === 'restore' ? size : p === 'verify' ? r.verify.bytesChecked : 0;
      const rate = basis > 0 ? fmt(basis / MiB / ph.seconds) : '';
      lines.push(`| ${r.target} | ${p} | ${fmt(ph.seconds, 2)} | ${rate} | ${req(t, 'put')} | ${req(t, 'get')} | ${req(t, 'get-range')} | ${req(t, 'stat')} | ${req(t, 'list')} | ${req(t, 'delete')} | ${mib(bytes(t, 'put'))} | ${mib(bytes(t, 'get') + bytes(t, 'get-range'))} |`);
    }
  }
  lines.push('', 'MiB/s: image size / wall time for backup and restore (restore includes loading the index); verify: bytes authenticated / wall time. Request counts are ObjectStore calls (one HTTP request each; counted below the retry layer).', '');

  lines.push('## Requests per GiB and restore reads', '');
  lines.push('| metric | ' + results.map((r) => r.target).join(' | ') + ' |');
  lines.push('|---|' + results.map(() => '--:|').join(''));
  const row = (name: string, f: (r: TargetResult) => string) => lines.push(`| ${name} | ${results.map(f).join(' | ')} |`);
  const b = (r: TargetResult) => r.phases.backup.tally;
  const rs = (r: TargetResult) => r.phases.restore.tally;
  row('new data (logical, not zero, not duplicate), GiB', (r) => fmt(gib(r.backup.bytesNew), 3));
  row('stored (compressed + encrypted packs), GiB', (r) => fmt(gib(r.backup.bytesStored), 3));
  row('backup PUT requests (packs + index + manifest + markers)', (r) => `${writeRequests(b(r))} (${req(b(r), 'put pack')} packs)`);
  row(`**PUT requests per GiB of new data** (target < ${PUT_TARGET_PER_GIB})`, (r) => {
    const v = writeRequests(b(r)) / gib(r.backup.bytesNew);
    return `**${fmt(v)}** ${v < PUT_TARGET_PER_GIB ? 'PASS' : 'FAIL'}`;
  });
  row('pack PUTs per GiB of new data / per GiB stored', (r) => `${fmt(req(b(r), 'put pack') / gib(r.backup.bytesNew))} / ${fmt(req(b(r), 'put pack') / gib(r.backup.bytesStored))}`);
  row('PUT requests per GiB stored', (r) => fmt(writeRequests(b(r)) / gib(r.backup.bytesStored)));
  row('PUT requests per GiB of image', (r) => fmt(writeRequests(b(r)) / gib(size)));
  row('all backup requests per GiB of image', (r) => fmt(total(b(r)) / gib(size)));
  row('restore GET requests (ranged / whole)', (r) => `${readRequests(rs(r))} (${req(rs(r), 'get-range')} / ${req(rs(r), 'get')})`);
  row('restore GET requests per GiB restored (image)', (r) => fmt(readRequests(rs(r)) / gib(size)));
  row('restore GET requests per GiB fetched', (r) => fmt(readRequests(rs(r)) / gib(bytes(rs(r), 'get') + bytes(rs(r), 'get-range'))));
  row('pack bytes stored, MiB', (r) => mib(bytes(b(r), 'put pack')));
  row('**pack bytes fetched by restore**, MiB', (r) => `**${mib(bytes(rs(r), 'get-range pack') + bytes(rs(r), 'get pack'))}**`);
  row('fetched / stored (pack bytes)', (r) => fmt((bytes(rs(r), 'get-range pack') + bytes(rs(r), 'get pack')) / bytes(b(r), 'put pack'), 3));
  row('distinct pack bytes fetched (union of ranges), MiB / of stored', (r) => `${mib(r.restore.distinctPackBytes)} / ${fmt(r.restore.distinctPackBytes / bytes(b(r), 'put pack'), 3)}`);
  row('pack bytes fetched more than once (same range re-read), MiB', (r) => mib(bytes(rs(r), 'get-range pack') + bytes(rs(r), 'get pack') - r.restore.distinctPackBytes));
  row('**ranged pack GETs** / whole-pack GETs', (r) => `**${req(rs(r), 'get-range pack')}** / ${req(rs(r), 'get pack')}`);
  row('mean bytes per ranged pack GET, KiB', (r) => fmt(bytes(rs(r), 'get-range pack') / 1024 / Math.max(1, req(rs(r), 'get-range pack'))));
  row('all restore bytes fetched (packs + index + manifest), MiB', (r) => mib(bytes(rs(r), 'get') + bytes(rs(r), 'get-range')));
  row('restore engine: requests / bytes read, MiB', (r) => `${r.restore.requests} / ${mib(r.restore.bytesRead)}`);
  row('restore reads packs by byte ranges only (no whole-pack GET)', (r) => (req(rs(r), 'get pack') === 0 && req(rs(r), 'get-range pack') > 0 ? 'PASS' : 'FAIL'));
  row('restore fetches no pack byte twice (fetched == distinct)', (r) => {
    const extra = bytes(rs(r), 'get-range pack') + bytes(rs(r), 'get pack') - r.restore.distinctPackBytes;
    return extra === 0 ? 'PASS' : `FAIL (+${fmt((100 * extra) / r.restore.distinctPackBytes)}% re-read)`;
  });
  row('verify --full GET requests (ranged / whole), MiB fetched', (r) => `${req(r.phases.verify.tally, 'get-range')} / ${req(r.phases.verify.tally, 'get')}, ${mib(bytes(r.phases.verify.tally, 'get') + bytes(r.phases.verify.tally, 'get-range'))}`);
  row('restored image identical (sha256) / verify clean', (r) => `${r.restore.identical ? 'yes' : 'NO'} / ${r.verify.ok ? 'yes' : `NO (${r.verify.problems})`}`);
  lines.push('');

  lines.push(`## Request cost per TiB (${PRICES_AS_OF})`, '');
  lines.push(`Counts scaled linearly from ${sizeText} to 1 TiB of the same image mix (x${fmt(scale, 0)}). Request charges only: no storage, egress or retrieval fees.`, '');
  for (const r of results) lines.push(`- ${r.target}: ${r.prices.text}.`);
  lines.push('');
  lines.push('| target | price book | backup 1 TiB | restore 1 TiB | verify --full 1 TiB | init (once) |');
  lines.push('|---|---|--:|--:|--:|--:|');
  for (const r of results) {
    lines.push(`| ${r.target} | ${r.prices.name} | ${usd(cost(r.phases.backup.tally, r.prices) * scale)} | ${usd(cost(r.phases.restore.tally, r.prices) * scale)} | ${usd(cost(r.phases.verify.tally, r.prices) * scale)} | ${usd(cost(r.phases.init.tally, r.prices))} |`);
  }
  lines.push('');

  lines.push('## HTTP requests seen by the SDK (cross-check)', '');
  lines.push('| target | step | requests by operation |');
  lines.push('|---|---|---|');
  for (const r of results) {
    for (const p of PHASES) {
      const w = Object.entries(r.phases[p].wire).sort(([a], [b]) => a.localeCompare(b));
      lines.push(`| ${r.target} | ${p} | ${w.map(([k, n]) => `${k} ${n}`).join(', ') || 'n/a'} |`);
    }
  }
  lines.push('');
  lines.push('## Requests by object kind', '');
  lines.push('| target | step | requests (MiB) |');
  lines.push('|---|---|---|');
  for (const r of results) {
    for (const p of PHASES) {
      const t = r.phases[p].tally;
      const kinds = Object.entries(t).filter(([k]) => k.includes(' ')).sort(([a], [b]) => a.localeCompare(b));
      lines.push(`| ${r.target} | ${p} | ${kinds.map(([k, v]) => `${k}: ${v.requests}${v.bytes ? ` (${mib(v.bytes)})` : ''}`).join(', ')} |`);
    }
  }
  lines.push('');
  lines.push(`Run with: \`BENCH_CLOUD_SIZE=${sizeText} npm run bench:cloud\` (also the second part of \`npm run bench\`).`, '');
  return lines.join('\n');
}

function total(t: Tally): number {
  return ['put', 'get', 'get-range', 'stat', 'list', 'delete'].reduce((s, op) => s + req(t, op), 0);
}

async function main(): Promise<void> {
  const started = new Date();
  await rm(work, { recursive: true, force: true });
  await mkdir(work, { recursive: true });
  try {
    const imagePath = join(work, 'image.raw');
    say(`generating a ${sizeText} image (seed ${SEED})`);
    const gen = await generateImage(imagePath, { size, seed: SEED });
    const imageSha = await sha256File(imagePath);
    const k = gen.bytesByKind;
    const imageInfo = `${sizeText}, seed "${SEED}": ${mib(k.zero)} MiB zero, ${mib(k.text)} MiB text, ${mib(k.random)} MiB random, ${mib(k.duplicate)} MiB duplicate`;
    say(`image: ${imageInfo}; sha256 ${imageSha.slice(0, 16)}…`);
    const results: TargetResult[] = [];
    for (const t of targets) results.push(await runTarget(t, imagePath, imageSha));
    const md = render(results, imageInfo, started);
    await mkdir(outDir, { recursive: true });
    await writeFile(join(outDir, 'cloud-report.md'), md);
    await writeFile(join(outDir, 'cloud-results.json'), JSON.stringify({ size, sizeText, threads, started: started.toISOString(), results }, null, 2));
    say(`\n${md}`);
    say(`wrote ${join(outDir, 'cloud-report.md')} and cloud-results.json`);
    const failed = results.filter((r) => !r.restore.identical || !r.verify.ok);
    if (failed.length > 0) throw new Error(`restore mismatch or verify problems on ${failed.map((r) => r.target).join(', ')}`);
  } finally {
    if (!keep) await rm(work, { recursive: true, force: true });
  }
}

await main();
