// `node bench/restore-verify.ts`: restore and full verify only, Cloudkeep vs restic, repeated and interleaved; medians and ratios.
// The image and both repositories are prepared once under BENCH_DIR and reused by later runs of the same size.
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { parseSize } from '../core/util/units.ts';
import { ckRestore, ckStep, ckVerify, cliEntry } from './cloudkeep-steps.ts';
import type { Step } from './measure.ts';
import { prepare, say, VOLUME, type Prepared } from './prepare.ts';
import { resticBackups, resticRestore, resticStep, resticVersion } from './restic.ts';

const ROOT = resolve(import.meta.dirname, '..');
const CLI = cliEntry(false);
// Another checkout's CLI (e.g. the last commit, unpacked elsewhere) measured in the same rounds as "cloudkeep (baseline)".
const BASELINE = process.env.BENCH_BASELINE_CLI;
const sizeText = process.env.BENCH_SIZE ?? '1GiB';
const size = parseSize(sizeText, 'BENCH_SIZE');
const repeat = Number(process.env.BENCH_REPEAT ?? 3);
const phases = (process.env.BENCH_PHASES ?? 'restore,verify').split(',');
const scratch = resolve(process.env.BENCH_DIR ?? join(ROOT, 'bench/out'));
const work = join(scratch, 'rv-work');
const stateFile = join(work, 'state.json');
const ckRepo = join(work, 'ck', 'repo');
const resticWork = join(work, 'restic');

interface State { size: number; prepared: Prepared; pointId: string }

/** The prepared image, Cloudkeep repository (full + incremental) and restic repository, made now or reused. */
async function ready(): Promise<State> {
  const old = await readFile(stateFile, 'utf8').then((t) => JSON.parse(t) as State, () => null);
  if (old && old.size === size && process.env.BENCH_FRESH !== '1') {
    say(`reusing ${relative(ROOT, work) || work} (BENCH_FRESH=1 to prepare anew)`);
    return old;
  }
  await rm(work, { recursive: true, force: true });
  await mkdir(join(work, 'ck'), { recursive: true });
  say('preparing the volume, both repositories and their two backups');
  const p = await prepare(work, size, {});
  const backup = (snapshot: string) => ['backup', '--volume', VOLUME, '--volumes-dir', p.volumesDir, '--snapshot', snapshot];
  await ckStep('cloudkeep', 'repo init', CLI, ckRepo, ['repo', 'init']);
  await ckStep('cloudkeep', 'full backup', CLI, ckRepo, backup(p.s1Id));
  const incr = await ckStep('cloudkeep', 'incremental backup', CLI, ckRepo, backup(p.s2Id));
  await resticBackups(resticWork, p.s1Path, p.s2Path, [], []);
  const state: State = { size, prepared: p, pointId: String(incr.json.id) };
  await writeFile(stateFile, JSON.stringify(state));
  return state;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const f = (n: number, d = 2) => n.toFixed(d);

async function main(): Promise<void> {
  if (!resticVersion()) throw new Error('restic is not on PATH: this benchmark compares against it');
  if (!(Number.isInteger(repeat) && repeat >= 1)) throw new Error(`BENCH_REPEAT=${process.env.BENCH_REPEAT}: expected a whole number ≥ 1`);
  say(`restore/verify benchmark: ${sizeText} image, ${repeat} rounds, phases ${phases.join(',')}, CLI ${relative(ROOT, CLI)}`);
  const st = await ready();
  const runs: Record<string, Step[]> = {};
  const stages: Array<Record<string, unknown>> = [];
  const record = (key: string, s: Step) => (runs[key] ??= []).push(s);
  for (let i = 0; i < repeat; i++) {
    say(`round ${i + 1} of ${repeat}`);
    // Alternating who goes first spreads slow drifts of the shared machine over both tools.
    const ck = async (phase: string) => {
      if (phase === 'restore') {
        const r = await ckRestore('cloudkeep', CLI, ckRepo, st.pointId, join(work, 'ck', 'restored.img'), st.prepared.s2Sha);
        stages.push({ durationMs: r.json.durationMs, stages: r.json.stages });
        record('cloudkeep restore', r.step);
      } else record('cloudkeep verify', (await ckVerify('cloudkeep', CLI, ckRepo)).step);
    };
    const rs = async (phase: string) => {
      if (phase === 'restore') record('restic restore', await resticRestore(resticWork, st.prepared.s2Sha));
      else record('restic verify', (await resticStep(resticWork, 'verify (check --read-data)', ['check', '--read-data'])).step);
    };
    const base = async (phase: string) => {
      if (!BASELINE) return;
      if (phase === 'restore') record('cloudkeep (baseline) restore', (await ckRestore('cloudkeep (baseline)', BASELINE, ckRepo, st.pointId, join(work, 'ck', 'restored.img'), st.prepared.s2Sha)).step);
      else record('cloudkeep (baseline) verify', (await ckVerify('cloudkeep (baseline)', BASELINE, ckRepo)).step);
    };
    for (const phase of phases) {
      const order = [ck, rs, base];
      for (const run of i % 2 === 0 ? order : order.reverse()) await run(phase);
    }
  }
  const lines = ['', `| step | wall s (median of ${repeat}; all) | MB/s | peak RSS MiB (max) | CPU s (median) |`, '| --- | --- | ---: | ---: | ---: |'];
  for (const [key, steps] of Object.entries(runs)) {
    const wall = median(steps.map((s) => s.wallS));
    lines.push(`| ${key} | ${f(wall)} (${steps.map((s) => f(s.wallS)).join(', ')}) | ${f(size / 1e6 / wall, 0)} | ${f(Math.max(...steps.map((s) => s.maxRssKiB)) / 1024, 0)} | ${f(median(steps.map((s) => s.userS + s.sysS)))} |`);
  }
  lines.push('');
  for (const phase of phases) {
    const a = runs[`cloudkeep ${phase}`];
    const b = runs[`restic ${phase}`];
    const perRound = a.map((s, i) => b[i].wallS / s.wallS);
    const c = runs[`cloudkeep (baseline) ${phase}`];
    if (c) lines.push(`- ${phase}: baseline ${f(median(b.map((s) => s.wallS)) / median(c.map((s) => s.wallS)))}x restic's throughput (per round: ${c.map((s, i) => `${f(b[i].wallS / s.wallS)}x`).join(', ')})`);
    lines.push(`- ${phase}: Cloudkeep ${f(median(b.map((s) => s.wallS)) / median(a.map((s) => s.wallS)))}x restic's throughput (per round: ${perRound.map((x) => `${f(x)}x`).join(', ')}); peak RSS ${f(Math.max(...a.map((s) => s.maxRssKiB)) / Math.max(...b.map((s) => s.maxRssKiB)))}x restic's`);
  }
  for (const s of stages) lines.push(`- cloudkeep restore stages: ${JSON.stringify(s)}`);
  const disturbed = Object.values(runs).flat().filter((s) => s.otherCpuS > Math.max(0.3, 0.1 * s.wallS));
  if (disturbed.length) lines.push(`- disturbed steps (CPU used outside the step): ${disturbed.map((s) => `${s.tool} ${s.step} ${f(s.otherCpuS, 1)} s over ${f(s.wallS, 1)} s`).join('; ')}`);
  say(lines.join('\n'));
}

await main();
