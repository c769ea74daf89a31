// `npm run bench`: Cloudkeep's full, incremental, restore and verify on a seeded image vs restic and a zstd floor.
import { execFileSync } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, release, totalmem } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { parseSize } from '../core/util/units.ts';
import type { FloorResult } from './floor.ts';
import { ckRestore, ckStep, ckVerify, cliEntry } from './cloudkeep-steps.ts';
import { GiB, measureStep, type Step } from './measure.ts';
import { BLOCK_FRACTION, DAY2_SEED, prepare, say, SEED, VOLUME, type Prepared } from './prepare.ts';
import { buildTargets, renderReport, type CloudkeepRun, type Results, type Stages } from './report.ts';
import { resticVersion, runRestic } from './restic.ts';

const ROOT = resolve(import.meta.dirname, '..');
// The installed entry (compiled by `npm run build`, which `npm run bench` runs first); BENCH_CLI=ts or no build: the sources.
const CLI = cliEntry(true);
const FLOOR_RUNS = 3;

const sizeText = process.env.BENCH_SIZE ?? '4GiB';
const size = parseSize(sizeText, 'BENCH_SIZE');
const scratch = resolve(process.env.BENCH_DIR ?? join(ROOT, 'bench/out'));
const work = join(scratch, 'work');
const keep = process.env.BENCH_KEEP === '1';

/** One repository setting: init, full backup of s1, and (with `all`) incremental of s2, restore and verify --full. */
async function cloudkeep(p: Prepared, setting: string, slug: string, initArgs: string[], all: boolean): Promise<CloudkeepRun> {
  const dir = join(work, `ck-${slug}`);
  const repo = join(dir, 'repo');
  await mkdir(dir, { recursive: true });
  const steps: Step[] = [];
  const tool = `cloudkeep (${setting})`;
  const add = (r: { step: Step; json: Record<string, unknown> }) => {
    steps.push(r.step);
    return r.json;
  };
  const step = async (name: string, args: string[]) => add(await ckStep(tool, name, CLI, repo, args));
  const backupArgs = (snapshot: string) => ['backup', '--volume', VOLUME, '--volumes-dir', p.volumesDir, '--snapshot', snapshot];
  await step('repo init', ['repo', 'init', ...initArgs]);
  const full = await step('full backup', backupArgs(p.s1Id));
  const run: CloudkeepRun = { setting, initArgs, steps, full: full.stats as CloudkeepRun['full'] };
  if (!all) return run;
  const incr = await step('incremental backup', backupArgs(p.s2Id));
  const incrStats = incr.stats as CloudkeepRun['full'];
  if (incr.kind !== 'incremental' || incr.parent !== full.id) throw new Error(`the second backup is ${String(incr.kind)} of ${String(incr.parent)}: expected an incremental of ${String(full.id)}`);
  run.incremental = incrStats;
  run.restore = add(await ckRestore(tool, CLI, repo, String(incr.id), join(dir, 'restored.img'), p.s2Sha)) as Stages & Record<string, unknown>;
  run.verify = add(await ckVerify(tool, CLI, repo));
  return run;
}

/** The floor is a best case, so the fastest of FLOOR_RUNS runs counts (it also sheds disturbance on a shared machine). */
async function floor(p: Prepared): Promise<{ step: Step; result: FloorResult; runsWallS: number[] }> {
  let best: { step: Step; result: FloorResult } | null = null;
  const runsWallS: number[] = [];
  for (let i = 0; i < FLOOR_RUNS; i++) {
    const r = await measureStep('zstd-1 floor', `compress non-zero blocks (run ${i + 1})`, null, process.execPath, [join(ROOT, 'bench/floor.ts'), p.s1Path]);
    runsWallS.push(r.step.wallS);
    if (!best || r.step.wallS < best.step.wallS) best = { step: { ...r.step, step: `compress non-zero blocks (best of ${FLOOR_RUNS})` }, result: JSON.parse(r.out.stdout) as FloorResult };
  }
  return { ...best!, runsWallS };
}

function machine(): Results['machine'] {
  let fileSystem = 'unknown';
  try {
    fileSystem = execFileSync('stat', ['-f', '-c', '%T', scratch], { encoding: 'utf8' }).trim();
  } catch {
    // not important enough to fail the run
  }
  return { cpu: cpus()[0]?.model.trim() ?? 'unknown', cores: availableParallelism(), memoryGiB: Math.round(totalmem() / GiB), kernel: release(), fileSystem };
}

async function main(): Promise<void> {
  const command = `${process.env.BENCH_SIZE ? `BENCH_SIZE=${sizeText} ` : ''}${process.env.BENCH_DIR ? `BENCH_DIR=${process.env.BENCH_DIR} ` : ''}npm run bench`;
  say(`cloudkeep benchmark: ${sizeText} image, scratch ${scratch}, CLI ${relative(ROOT, CLI)}`);
  await rm(work, { recursive: true, force: true });
  await mkdir(work, { recursive: true });
  const setup: Record<string, number> = {};
  try {
    say('preparing the volume and its snapshots');
    const p = await prepare(work, size, setup);
    say(`  ${p.changed.length} blocks changed on day 2`);
    say('compression floor');
    const fl = await floor(p);
    say('cloudkeep');
    const runs = [
      await cloudkeep(p, 'default', 'default', [], true),
      await cloudkeep(p, 'sub-chunking off', 'nosub', ['--sub-chunk', '512KiB'], false),
    ];
    let restic = null;
    if (resticVersion()) {
      say('restic');
      restic = await runRestic(join(work, 'restic'), p.s1Path, p.s2Path, p.s2Sha);
    } else {
      say('restic is not on PATH: skipping the comparison');
    }
    const ckFull = runs[0].steps.find((s) => s.step === 'full backup')!;
    const results: Results = {
      command, cli: relative(ROOT, CLI), date: new Date().toISOString(), machine: machine(), node: process.version,
      image: { size, seed: SEED, day2Seed: DAY2_SEED, blockFraction: BLOCK_FRACTION, changedBlocks: p.changed.length, bytesByKind: p.gen.bytesByKind },
      setup, cloudkeep: runs, restic, floor: fl,
      targets: buildTargets(runs[0], restic),
      floorRatio: fl.step.wallS / ckFull.wallS,
    };
    const report = renderReport(results);
    await writeFile(join(scratch, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
    await writeFile(join(scratch, 'report.md'), report);
    say(`\n${report}`);
    say(`results: ${join(scratch, 'results.json')}, report: ${join(scratch, 'report.md')}`);
  } finally {
    if (keep) say(`BENCH_KEEP=1: keeping ${work}`);
    else await rm(work, { recursive: true, force: true });
  }
}

await main();
