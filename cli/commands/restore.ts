// `cloudkeep restore` and `cloudkeep points list`: find restore points and write one back to an image file.
import type { Command } from 'commander';
import { stat } from 'node:fs/promises';
import { restoreDisk } from '../../core/engine/restore.ts';
import { rehydrateFirst, translateArchived } from './restore-rehydrate.ts';
import { InvalidArgumentError } from '../../core/errors.ts';
import { formatBytes, formatRate } from '../../core/util/units.ts';
import { FileVolumeSink } from '../../providers/local/file-volume-sink.ts';
import { emit, limiterFor, openRepo, progressFor, withRepoAndProcessor, type GlobalOptions } from '../context.ts';
import { latestPoint } from './backup.ts';

export function registerRestore(program: Command, globals: () => GlobalOptions): void {
  program
    .command('restore <point>')
    .description('restore a disk of a restore point (an id, or "latest" with --resource) to a raw image file')
    .requiredOption('--to <file>', 'image file to write (must not exist unless --force)')
    .option('--disk <name>', 'disk of the restore point', 'root')
    .option('--resource <id>', 'with "latest": the resource')
    .option('--force', 'overwrite an existing file')
    .option('--rehydrate [days]', 'first rehydrate archived packs (cold storage tiers) and wait; restored copies stay readable for days (default 7)')
    .option('--rehydrate-priority <priority>', 'standard, bulk or expedited', 'standard')
    .action(async (point: string, o: { to: string; disk: string; resource?: string; force?: boolean; rehydrate?: boolean | string; rehydratePriority: string }) => {
      const g = globals();
      const limiter = limiterFor(g);
      if (!o.force && (await stat(o.to).then(() => true, () => false))) {
        throw new InvalidArgumentError(`${o.to} exists: choose a new file or pass --force to overwrite it`);
      }
      const { manifest, result } = await withRepoAndProcessor(g, async (repo, processor) => {
        let manifest;
        if (point === 'latest') {
          if (!o.resource) throw new InvalidArgumentError('"latest" needs --resource <id>');
          manifest = await latestPoint(repo, o.resource);
          if (!manifest) throw new InvalidArgumentError(`no restore point of resource ${JSON.stringify(o.resource)}`);
        } else manifest = await repo.readManifest(point);
        const index = await repo.loadIndexForRestore();
        if (o.rehydrate !== undefined) await rehydrateFirst(g, repo, index, manifest, o.rehydrate, o.rehydratePriority);
        const sink = new FileVolumeSink(o.to);
        const view = progressFor(g);
        const result = await restoreDisk({ repo, index, processor, onProgress: view.listener, limiter }, manifest, o.disk, sink)
          .catch((err: unknown) => translateArchived(err, manifest.id))
          .finally(() => view.stop())
          .finally(() => sink.close());
        return { manifest, result };
      });
      emit(g, { point: manifest.id, disk: o.disk, to: o.to, ...result }, () =>
        `restored ${manifest.id}/${o.disk} to ${o.to}: ${formatBytes(result.bytesWritten)} written in ${(result.durationMs / 1000).toFixed(1)} s (${formatRate(manifest.disks.find((d) => d.name === o.disk)!.size, result.durationMs)}), ${result.requests} reads, every chunk verified`,
      );
    });
  const points = program.command('points').description('list restore points');
  points
    .command('list')
    .option('--resource <id>', 'only this resource')
    .action(async (o: { resource?: string }) => {
      const g = globals();
      const repo = await openRepo(g);
      const all = (await repo.listManifests()).filter((m) => !o.resource || m.resource.id === o.resource);
      emit(g, all.map((m) => ({ id: m.id, resource: m.resource, kind: m.kind, parent: m.parent, finishedAt: m.finishedAt, size: m.stats.bytesTotal, stored: m.stats.bytesStored, tags: m.tags })), () =>
        all.length === 0 ? 'no restore points' : all.map((m) => `${m.id}  ${m.resource.id}  ${m.kind.padEnd(11)}  ${m.finishedAt}  ${formatBytes(m.stats.bytesTotal)}  +${formatBytes(m.stats.bytesStored)}`).join('\n'),
      );
    });
}
