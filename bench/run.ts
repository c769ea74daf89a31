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
import { resticFullRound, resticRestore, resticStep, resticVersion, runRestic, type ResticRun } from './restic.ts';

const ROOT = resolve(import.meta.dirname, '..');
// The installed entry (compiled by `npm run build`, which `npm run bench` runs first); BENCH_CLI=ts or no build: the sources.
const CLI = cliEntry(true);
const FLOOR_RUNS = 3;

const sizeText = process.env.BENCH_SIZE ?? '4GiB';
const size = parseSize(sizeText, 'BENCH_SIZE');
const scratch = resolve(process.env.BENCH_DIR ?? join(ROOT, 'bench/out'));
const work = join(scratch, 'work');
const keep = process.env.BENCH_KEEP === '1';

/** Arguments of a Cloudkeep backup of one of the prepared snapshots. */
const backupArgs = (p: Prepared, snapshot: string) => ['backup', '--volume', VOLUME, '--volumes-dir', p.volumesDir, '--snapshot', snapshot];

/** Where the default setting's repository and newest point are, for the extra restore and verify rounds. */
const lastRepo: { repo: string; id: string; dir: string } = { repo: '', id: '', dir: '' };
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

/**
 * Full backup, restore and verify run ROUNDS times per tool, alternating tools, and the median
 * round counts: this shared machine's noise (CPU and a disk whose speed varies with what was
 * written before) moves single runs by ±30% and more. The first round is the one in each tool's
 * sequence; the others follow here (a full backup into a fresh repository each). Returns every
 * round's wall time per tool and step.
 */
async function extraRounds(run: CloudkeepRun, restic: ResticRun | null, p: Prepared): Promise<Record<string, number[]>> {
  const tool = `cloudkeep (${run.setting})`;
  const rounds: Record<string, Step[]> = {};
  const push = (key: string, step: Step) => (rounds[key] ??= []).push(step);
  const first = (steps: Step[], name: string) => steps.find((s) => s.step === name);
  for (const [key, steps, name] of [
    [`${tool} full backup`, run.steps, 'full backup'],
    ['restic full backup', restic?.steps ?? [], 'full backup'],
    [`${tool} restore`, run.steps, 'restore'],
    [`${tool} verify (--full)`, run.steps, 'verify (--full)'],
    ['restic restore', restic?.steps ?? [], 'restore'],
    ['restic verify (check --read-data)', restic?.steps ?? [], 'verify (check --read-data)'],
  ] as const) {
    const s = first(steps, name);
    if (s) push(key, s);
  }
  for (let r = 1; r < ROUNDS; r++) {
    say(`full backup, restore and verify, round ${r + 1} of ${ROUNDS}`);
    const fresh = join(work, `ck-round-${r}`);
    await mkdir(fresh, { recursive: true });
    try {
      const freshRepo = join(fresh, 'repo');
      await ckStep(tool, 'repo init (round)', CLI, freshRepo, ['repo', 'init', ...run.initArgs]);
      push(`${tool} full backup`, (await ckStep(tool, 'full backup', CLI, freshRepo, backupArgs(p, p.s1Id), [p.s1Path])).step);
    } finally {
      await rm(fresh, { recursive: true, force: true });
    }
    if (restic) push('restic full backup', await resticFullRound(join(work, `restic-round-${r}`), p.s1Path));
    push(`${tool} restore`, (await ckRestore(tool, CLI, lastRepo.repo, lastRepo.id, join(lastRepo.dir, 'restored.img'), p.s2Sha)).step);
    if (restic) push('restic restore', await resticRestore(join(work, 'restic'), p.s2Sha));
    push(`${tool} verify (--full)`, (await ckVerify(tool, CLI, lastRepo.repo)).step);
    if (restic) push('restic verify (check --read-data)', (await resticStep(join(work, 'restic'), 'verify (check --read-data)', ['check', '--read-data'])).step);
  }
  // The median round (by wall time) stands for the step in the tables.
  for (const [key, list] of Object.entries(rounds)) {
    const median = [...list].sort((a, b) => a.wallS - b.wallS)[Math.floor((list.length - 1) / 2)];
    const steps = key.startsWith('restic') ? restic!.steps : run.steps;
    const i = steps.findIndex((s) => s.step === list[0].step);
    steps[i] = { ...median, step: list[0].step };
  }
  return Object.fromEntries(Object.entries(rounds).map(([k, list]) => [k, list.map((s) => s.wallS)]));
}

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
  const step = async (name: string, args: string[], warm: string[] = []) => add(await ckStep(tool, name, CLI, repo, args, warm));
  await step('repo init', ['repo', 'init', ...initArgs]);
  const full = await step('full backup', backupArgs(p, p.s1Id), [p.s1Path]);
  const run: CloudkeepRun = { setting, initArgs, steps, full: full.stats as CloudkeepRun['full'] };
  if (!all) return run;
  const incr = await step('incremental backup', backupArgs(p, p.s2Id), [p.s2Path]);
  const incrStats = incr.stats as CloudkeepRun['full'];
  if (incr.kind !== 'incremental' || incr.parent !== full.id) throw new Error(`the second backup is ${String(incr.kind)} of ${String(incr.parent)}: expected an incremental of ${String(full.id)}`);
  run.incremental = incrStats;
  Object.assign(lastRepo, { repo, id: String(incr.id), dir });
  run.restore = add(await ckRestore(tool, CLI, repo, String(incr.id), join(dir, 'restored.img'), p.s2Sha)) as Stages & Record<string, unknown>;
  run.verify = add(await ckVerify(tool, CLI, repo));
  return run;
}

/** The floor is a best case, so the fastest of FLOOR_RUNS runs counts (it also sheds disturbance on a shared machine). */
async function floor(p: Prepared): Promise<{ step: Step; result: FloorResult; runsWallS: number[] }> {
  let best: { step: Step; result: FloorResult } | null = null;
  const runsWallS: number[] = [];
  for (let i = 0; i < FLOOR_RUNS; i++) {
    const r = await measureStep('zstd-1 floor', `compress non-zero blocks (run ${i + 1})`, null, process.execPath, [join(ROOT, 'bench/floor.ts'), p.s1Path], {}, [p.s1Path]);
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
    const rounds = ROUNDS > 1 ? await extraRounds(runs[0], restic, p) : {};
    const ckFull = runs[0].steps.find((s) => s.step === 'full backup')!;
    const results: Results = {
      command, cli: relative(ROOT, CLI), date: new Date().toISOString(), machine: machine(), node: process.version,
      image: { size, seed: SEED, day2Seed: DAY2_SEED, blockFraction: BLOCK_FRACTION, changedBlocks: p.changed.length, bytesByKind: p.gen.bytesByKind },
      setup, cloudkeep: runs, restic, floor: fl, rounds,
      targets: buildTargets(runs[0], restic),
      floorRatio: fl.step.wallS / ckFull.wallS,
    };
    const roundsNote = Object.keys(rounds).length
      ? `\nFull backup, restore and verify ran ${ROUNDS} rounds per tool, alternating tools; the tables show each one's median round. Wall seconds of every round: ${Object.entries(rounds)
          .map(([k, w]) => `${k} ${w.map((x) => x.toFixed(2)).join(' / ')}`)
          .join('; ')}.\n`
      : '';
    const report = renderReport(results) + roundsNote;
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
