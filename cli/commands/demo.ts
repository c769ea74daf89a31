// `cloudkeep demo` (npm start): the embedded default end to end on one machine, no cloud account needed.
import type { Command } from 'commander';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { systemClock } from '../../core/clock.ts';
import { PassphraseKeyProvider } from '../../core/crypto/passphrase-key-provider.ts';
import { runBackup } from '../../core/engine/backup-session.ts';
import { restoreDisk } from '../../core/engine/restore.ts';
import { verifyRepository } from '../../core/maintenance/verify.ts';
import { DEFAULT_PARAMS } from '../../core/repo/config.ts';
import { Repository } from '../../core/repo/repository.ts';
import { formatBytes, formatRate, parseSize } from '../../core/util/units.ts';
import { FileObjectStore } from '../../providers/local/file-object-store.ts';
import { FileVolumeSink } from '../../providers/local/file-volume-sink.ts';
import { generateImage, mutateImage } from '../../providers/local/image-generator.ts';
import { LocalVolumeProvider } from '../../providers/local/local-volume-provider.ts';
import { emit, progressFor, withProcessor, type GlobalOptions } from '../context.ts';
import { CheckFailedError } from '../errors.ts';
import { summarize } from './backup.ts';

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 8 * 1024 * 1024 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export function registerDemo(program: Command, globals: () => GlobalOptions): void {
  program
    .command('demo')
    .description('run the embedded default: a local volume, a full and an incremental backup, a verified restore')
    .option('--dir <dir>', 'working directory (recreated)', '.cloudkeep/demo')
    .option('--size <size>', 'demo volume size', '512MiB')
    .action(async (o: { dir: string; size: string }) => {
      const g = globals();
      const say = (line: string) => void (!g.json && !g.quiet && process.stdout.write(`${line}\n`));
      const dir = resolve(o.dir);
      const size = parseSize(o.size, '--size');
      await rm(dir, { recursive: true, force: true });
      await mkdir(dir, { recursive: true });
      const passphrase = randomBytes(18).toString('base64url');
      await writeFile(join(dir, 'passphrase'), `${passphrase}\n`, { mode: 0o600 });
      const repo = await Repository.init(new FileObjectStore(join(dir, 'repo')), new PassphraseKeyProvider(passphrase), DEFAULT_PARAMS, systemClock);
      say(`repository ${repo.store.description} (AES-256-GCM, zstd, passphrase in ${join(dir, 'passphrase')})`);
      const volumes = new LocalVolumeProvider({ root: join(dir, 'volumes') });
      await volumes.createVolume('demo-vol', size);
      const gen = await generateImage(volumes.volumePath('demo-vol'), { size, seed: 'cloudkeep-demo' });
      say(`volume demo-vol: ${formatBytes(size)} (${formatBytes(gen.bytesByKind.zero)} zeros, ${formatBytes(gen.bytesByKind.text)} text, ${formatBytes(gen.bytesByKind.random)} random, ${formatBytes(gen.bytesByKind.duplicate)} duplicates)`);
      const resource = { id: 'demo-vol', kind: 'volume' as const, provider: 'local' };
      const view = progressFor(g);
      const result = await withProcessor(repo, g, async (processor) => {
        const s1 = await volumes.createSnapshot('demo-vol');
        const full = await runBackup({ repo, source: volumes, processor, request: { resource, disks: [{ name: 'root', snapshot: s1 }] }, onProgress: view.listener });
        view.stop();
        say(summarize(full));
        const changed = await mutateImage(
          { size, write: (off, data) => volumes.writeVolume('demo-vol', off, data), read: (off, len) => volumes.readVolume('demo-vol', off, len) },
          { seed: 'cloudkeep-demo-day2', blockFraction: 0.02 },
        );
        const s2 = await volumes.createSnapshot('demo-vol');
        say(`changed ${changed.length} blocks (${formatBytes(changed.length * 512 * 1024)}), snapshot ${s2.snapshotId}`);
        const incr = await runBackup({ repo, source: volumes, processor, request: { resource, parent: full, disks: [{ name: 'root', snapshot: s2, baseSnapshot: s1 }] }, onProgress: view.listener });
        view.stop();
        say(summarize(incr));
        const target = join(dir, 'restored.img');
        const index = await repo.loadIndexForRestore();
        const sink = new FileVolumeSink(target);
        const restored = await restoreDisk({ repo, index, processor, onProgress: view.listener }, incr, 'root', sink).finally(() => sink.close());
        view.stop();
        const same = (await sha256File(target)) === (await sha256File(volumes.snapshotPath(s2.snapshotId)));
        say(`restored ${incr.id} to ${target} in ${(restored.durationMs / 1000).toFixed(1)} s (${formatRate(size, restored.durationMs)}): ${same ? 'identical to the snapshot' : 'DIFFERENT from the snapshot'}`);
        const verify = await verifyRepository(repo, processor, { full: true });
        return { full, incr, restored, same, verify };
      });
      const stored = result.full.stats.bytesStored + result.incr.stats.bytesStored;
      const logical = 2 * size;
      emit(g, { repository: repo.store.description, full: result.full.stats, incremental: result.incr.stats, restore: result.restored, identical: result.same, verify: { ok: result.verify.ok, problems: result.verify.problems } }, () =>
        [
          '',
          `summary: 2 restore points of ${formatBytes(size)} stored in ${formatBytes(stored)} (reduction ${(logical / Math.max(1, stored)).toFixed(1)}x)`,
          `  full ${formatRate(size, result.full.stats.durationMs)}, incremental ${(result.incr.stats.durationMs / 1000).toFixed(2)} s for ${result.incr.stats.blocksRead} changed blocks, restore ${formatRate(size, result.restored.durationMs)}`,
          `  bottleneck of the full backup: ${result.full.stats.bottleneck}; verify: ${result.verify.ok ? 'clean' : `${result.verify.problems.length} problems`}`,
          `  try: CLOUDKEEP_PASSPHRASE=$(cat ${join(o.dir, 'passphrase')}) npx cloudkeep points list --repo ${join(o.dir, 'repo')}`,
        ].join('\n'),
      );
      if (!result.same || !result.verify.ok) throw new CheckFailedError('the demo restore did not match or verify found problems');
    });
}
