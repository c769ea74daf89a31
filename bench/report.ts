// The benchmark's results model, its targets against restic, and the Markdown report printed and written to report.md.
import type { FloorResult } from './floor.ts';
import { GiB, MiB, type Step } from './measure.ts';
import type { ResticRun } from './restic.ts';

export interface Stages {
  durationMs: number;
  stages: { sourceRead: number; processing: number; targetWrite: number; throttling: number };
  bottleneck: string;
}

export interface CloudkeepRun {
  setting: string;
  initArgs: string[];
  steps: Step[];
  /** Engine statistics: manifests' stats of the backups, the restore result. */
  full: Stages & Record<string, unknown>;
  incremental?: Stages & Record<string, unknown>;
  restore?: Stages & Record<string, unknown>;
  verify?: Record<string, unknown>;
}

export interface Target {
  name: string;
  goal: string;
  value: number | null;
  shown: string;
  met: boolean | null;
}

export interface Results {
  command: string;
  /** The CLI entry the Cloudkeep steps ran: bin/cloudkeep.js (compiled) or cli/main.ts. */
  cli: string;
  date: string;
  machine: { cpu: string; cores: number; memoryGiB: number; kernel: string; fileSystem: string };
  node: string;
  image: { size: number; seed: string; day2Seed: string; blockFraction: number; changedBlocks: number; bytesByKind: Record<string, number> };
  setup: Record<string, number>;
  cloudkeep: CloudkeepRun[];
  restic: ResticRun | null;
  floor: { step: Step; result: FloorResult; runsWallS: number[] };
  /** Wall seconds of each restore and verify round per tool (BENCH_ROUNDS); the steps hold the median round. */
  rounds?: Record<string, number[]>;
  targets: Target[];
  floorRatio: number;
}

const find = (steps: Step[] | undefined, name: string) => steps?.find((s) => s.step === name);
const isInit = (s: Step) => s.step === 'repo init';
const mbps = (size: number, s: Step) => size / 1e6 / s.wallS;
const f = (n: number, digits = 1) => n.toFixed(digits);

/** Cloudkeep (default setting) against restic: ratios and MET / NOT MET. */
export function buildTargets(ck: CloudkeepRun, restic: ResticRun | null): Target[] {
  const r = restic?.steps;
  const speed = (name: string, stepName: string, goal: number): Target => {
    const a = find(ck.steps, stepName);
    const b = find(r, stepName.startsWith('verify') ? 'verify (check --read-data)' : stepName);
    const value = a && b ? b.wallS / a.wallS : null;
    return { name, goal: `≥ ${goal}x restic`, value, shown: value === null ? 'n/a' : `${f(value, 2)}x`, met: value === null ? null : value >= goal };
  };
  const ckRepo = find(ck.steps, 'incremental backup')?.repoBytes ?? null;
  const rRepo = find(r, 'incremental backup')?.repoBytes ?? null;
  const repoRatio = ckRepo !== null && rRepo ? ckRepo / rRepo : null;
  const peak = (steps: Step[] | undefined) => (steps?.length ? Math.max(...steps.map((s) => s.maxRssKiB)) : null);
  const ckPeak = peak(ck.steps);
  const rPeak = peak(r);
  const rssRatio = ckPeak !== null && rPeak ? ckPeak / rPeak : null;
  return [
    speed('full backup throughput', 'full backup', 4),
    speed('incremental backup (wall time)', 'incremental backup', 20),
    speed('restore throughput', 'restore', 2),
    speed('full verify (vs check --read-data)', 'verify (--full)', 3),
    {
      name: 'repository size after both backups', goal: '≤ restic + 5%', value: repoRatio,
      shown: repoRatio === null ? 'n/a' : `${f(ckRepo! / MiB)} vs ${f(rRepo! / MiB)} MiB (${repoRatio >= 1 ? '+' : ''}${f((repoRatio - 1) * 100)}%)`,
      met: repoRatio === null ? null : repoRatio <= 1.05,
    },
    {
      name: 'peak RSS (max over steps)', goal: '≤ 2x restic', value: rssRatio,
      shown: rssRatio === null ? 'n/a' : `${f(ckPeak! / 1024, 0)} vs ${f(rPeak! / 1024, 0)} MiB (${f(rssRatio, 2)}x)`,
      met: rssRatio === null ? null : rssRatio <= 2,
    },
  ];
}

function allSteps(r: Results): Step[] {
  return [...r.cloudkeep.flatMap((run) => run.steps), ...(r.restic?.steps ?? []), r.floor.step];
}

function stepRow(label: string, s: Step, size: number): string {
  const gib = size / GiB;
  const cells = [
    label, s.step, f(s.wallS, 2),
    isInit(s) ? '-' : f(mbps(size, s)),
    isInit(s) ? '-' : f((s.userS + s.sysS) / gib, 2),
    f(s.maxRssKiB / 1024, 0),
    s.repoBytes === null ? '-' : f(s.repoBytes / MiB),
    s.objectsWritten === null || isInit(s) ? '-' : f(s.objectsWritten / gib, 1),
  ];
  return `| ${cells.join(' | ')} |`;
}

function stagesRow(label: string, st: Stages): string {
  const pct = (ms: number) => `${ms} ms (${st.durationMs > 0 ? Math.round((100 * ms) / st.durationMs) : 0}%)`;
  const s = st.stages;
  return `| ${label} | ${st.durationMs} | ${pct(s.sourceRead)} | ${pct(s.processing)} | ${pct(s.targetWrite)} | ${pct(s.throttling)} | ${st.bottleneck} |`;
}

export function renderReport(r: Results): string {
  const size = r.image.size;
  const gib = size / GiB;
  const k = r.image.bytesByKind;
  const pctOf = (n: number) => `${f((100 * n) / size, 0)}%`;
  const lines: string[] = [
    `## Cloudkeep benchmark: ${f(gib, 2)} GiB image`,
    '',
    `Run ${r.date} with \`${r.command}\` on ${r.machine.cpu} (${r.machine.cores} cores), ${r.machine.memoryGiB} GiB RAM, Linux ${r.machine.kernel}, ${r.machine.fileSystem} scratch file system; Node ${r.node}${r.restic ? `; ${r.restic.version}` : ''}.`,
    '',
    `Image: seeded generator (seed \`${r.image.seed}\`), ${pctOf(k.zero)} zeros (holes), ${pctOf(k.text)} text, ${pctOf(k.random)} random, ${pctOf(k.duplicate)} duplicates. Day 2 (seed \`${r.image.day2Seed}\`): ${r.image.changedBlocks} of ${Math.ceil(size / (512 * 1024))} 512 KiB blocks rewritten (fraction ${r.image.blockFraction}), tracked as snapshot s2's changed blocks.`,
    '',
    `Every step is a separate process timed with \`/usr/bin/time\` (process start, key derivation and all); Cloudkeep runs as \`node ${r.cli}\`. MB/s = image logical size (10^6 bytes) / wall; CPU s/GiB = (user + sys) / GiB of image; repo MiB = sum of file sizes in the repository after the step; objects/GiB = files added to the repository by the step per GiB of image. Before each step its inputs (source image, repository) are read through once, so both tools start from the page cache, and \`sync\` runs so none pays for an earlier one's writeback. A Cloudkeep restore makes the restored image durable (fsync) before it reports success; restic 0.14 does not sync what it restores, so its restore step is \`restic restore\` followed by \`sync\` of the restored file, and both count the same disk writes.`,
    '',
    '| tool | step | wall s | MB/s | CPU s/GiB | peak RSS MiB | repo MiB | objects/GiB |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const run of r.cloudkeep) for (const s of run.steps) lines.push(stepRow(`cloudkeep (${run.setting})`, s, size));
  if (r.restic) for (const s of r.restic.steps) lines.push(stepRow('restic', s, size));
  lines.push(stepRow(`zstd-1 floor (${r.floor.result.workers} threads)`, r.floor.step, size));
  const disturbed = allSteps(r).filter((s) => s.otherCpuS > Math.max(0.3, 0.1 * s.wallS));
  lines.push('', disturbed.length === 0
    ? 'No step saw noticeable CPU use outside its own process (machine-wide busy time from /proc/stat).'
    : `**Caution**: CPU was used outside the measured process (other processes, or kernel threads writing back its files) during ${disturbed.map((s) => `${s.tool} ${s.step} (${f(s.otherCpuS, 1)} CPU s over ${f(s.wallS, 1)} s)`).join(', ')}. On a shared machine those wall times are pessimistic; rerun on an idle machine for clean numbers.`, '');
  if (r.restic) {
    lines.push('### Targets: Cloudkeep (default setting) vs restic', '', '| target | goal | measured | result |', '| --- | --- | --- | --- |');
    for (const t of r.targets) lines.push(`| ${t.name} | ${t.goal} | ${t.shown} | ${t.met === null ? 'n/a' : t.met ? 'MET' : 'NOT MET'} |`);
    const rFull = find(r.restic.steps, 'full backup');
    const info = r.cloudkeep.slice(1).map((run) => {
      const s = find(run.steps, 'full backup');
      return s && rFull ? `full backup with ${run.setting}: ${f(rFull.wallS / s.wallS, 2)}x restic's throughput, repository ${f(s.repoBytes! / MiB)} MiB vs restic's ${f(rFull.repoBytes! / MiB)} MiB after the full backup.` : '';
    });
    lines.push('', ...info.filter(Boolean).map((x) => `- ${x}`));
  } else {
    lines.push('restic is not on PATH: the comparison was skipped.');
  }
  const ckFull = find(r.cloudkeep[0].steps, 'full backup')!;
  const fl = r.floor.result;
  lines.push(
    `- compression floor: zstd level 1 of the ${fl.blocks} non-zero 512 KiB blocks on ${fl.workers} worker threads (${f(fl.bytesIn / MiB)} MiB → ${f(fl.bytesOut / MiB)} MiB) runs at ${f(mbps(size, r.floor.step))} MB/s of the image (fastest of ${r.floor.runsWallS.map((w) => `${f(w, 2)} s`).join(', ')}); the Cloudkeep full backup reaches ${f(mbps(size, ckFull))} MB/s, ${f(r.floorRatio * 100)}% of the floor.`,
    '',
    '### Cloudkeep stages (busy time; % of the engine\'s own duration)',
    '',
    '| run | engine ms | source read | processing | target write | throttling | bottleneck |',
    '| --- | ---: | ---: | ---: | ---: | ---: | --- |',
  );
  for (const run of r.cloudkeep) {
    lines.push(stagesRow(`${run.setting}: full backup`, run.full));
    if (run.incremental) lines.push(stagesRow(`${run.setting}: incremental`, run.incremental));
    if (run.restore) lines.push(stagesRow(`${run.setting}: restore`, run.restore));
  }
  const ck = r.cloudkeep[0];
  const inc = ck.incremental as Record<string, unknown> | undefined;
  if (inc) lines.push('', `Incremental: ${inc.blocksRead} blocks read, ${f(Number(inc.bytesNew) / MiB)} MiB new, ${f(Number(inc.bytesStored) / MiB)} MiB stored.`);
  lines.push('');
  return lines.join('\n');
}
