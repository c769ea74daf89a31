// `cloudkeep backup`: one restore point from a raw image file or from a snapshot of a local volume.
import type { Command } from 'commander';
import { basename } from 'node:path';
import { runBackup } from '../../core/engine/backup-session.ts';
import type { DiskToBackUp } from '../../core/engine/backup.ts';
import { InvalidArgumentError } from '../../core/errors.ts';
import type { Manifest, ResourceRef } from '../../core/repo/manifest.ts';
import type { Repository } from '../../core/repo/repository.ts';
import type { SnapshotSource } from '../../core/snapshot/snapshot-source.ts';
import { formatBytes, formatRate } from '../../core/util/units.ts';
import { ImageFileSource } from '../../providers/local/image-file-source.ts';
import { LocalVolumeProvider } from '../../providers/local/local-volume-provider.ts';
import { emit, limiterFor, progressFor, withRepoAndProcessor, type GlobalOptions } from '../context.ts';

interface BackupFlags {
  image?: string;
  volume?: string;
  volumesDir?: string;
  snapshot?: string;
  resource?: string;
  full?: boolean;
  tag?: string[];
}

/** The newest restore point of a resource: the parent of the next one. */
export async function latestPoint(repo: Repository, resourceId: string): Promise<Manifest | null> {
  const ids = await repo.listPointIds();
  for (let i = ids.length - 1; i >= 0; i--) {
    const m = await repo.readManifest(ids[i]);
    if (m.resource.id === resourceId) return m;
  }
  return null;
}

function parseTags(tags: string[] = []): Record<string, string> {
  const out: Record<string, string> = {};
  for (const t of tags) {
    const i = t.indexOf('=');
    if (i <= 0) throw new InvalidArgumentError(`--tag ${JSON.stringify(t)}: expected key=value`);
    out[t.slice(0, i)] = t.slice(i + 1);
  }
  return out;
}

async function plan(o: BackupFlags, parent: Manifest | null): Promise<{ source: SnapshotSource; disk: DiskToBackUp }> {
  if (o.image) {
    const source = new ImageFileSource(o.image);
    return { source, disk: { name: 'root', snapshot: await source.ref() } };
  }
  const provider = new LocalVolumeProvider({ root: o.volumesDir! });
  const snaps = await provider.listSnapshots(o.volume!);
  const chosen = o.snapshot ? snaps.find((x) => x.snapshotId === o.snapshot) : undefined;
  if (o.snapshot && !chosen) throw new InvalidArgumentError(`volume ${o.volume} has no snapshot ${JSON.stringify(o.snapshot)}; it has ${snaps.map((x) => x.snapshotId).join(', ') || 'none'}`);
  const snap = chosen ?? (await provider.createSnapshot(o.volume!));
  const baseId = parent?.disks.find((d) => d.name === 'root')?.snapshotId;
  const known = baseId ? snaps.some((x) => x.snapshotId === baseId) : false;
  return { source: provider, disk: { name: 'root', snapshot: snap, baseSnapshot: known && baseId ? { snapshotId: baseId, volumeId: o.volume! } : null } };
}

export function summarize(m: Manifest): string {
  const s = m.stats;
  return [
    `restore point ${m.id} (${m.kind}${m.parent ? ` of ${m.parent}` : ''}) of ${m.resource.id}`,
    `  read ${formatBytes(s.bytesRead)} of ${formatBytes(s.bytesTotal)} in ${(s.durationMs / 1000).toFixed(1)} s (${formatRate(s.bytesRead, s.durationMs)}); zero ${formatBytes(s.bytesZero)}`,
    `  new ${formatBytes(s.bytesNew)} in ${s.chunksNew} chunks, stored ${formatBytes(s.bytesStored)} in ${s.packsWritten} packs; ${s.chunksReused} chunks reused`,
    `  bottleneck: ${s.bottleneck} (busy ms: read ${s.stages.sourceRead}, processing ${s.stages.processing}, write ${s.stages.targetWrite}${s.stages.throttling > 0 ? `, throttling ${s.stages.throttling}` : ''})`,
  ].join('\n');
}

export function registerBackup(program: Command, globals: () => GlobalOptions): void {
  program
    .command('backup')
    .description('back up a raw disk image (--image) or a local volume (--volume with --volumes-dir)')
    .option('--image <file>', 'raw disk image file to back up as it is')
    .option('--volume <id>', 'local volume to snapshot and back up (changed blocks only when the parent snapshot is kept)')
    .option('--volumes-dir <dir>', 'directory of the local volume provider')
    .option('--snapshot <id>', 'with --volume: back up this existing snapshot instead of taking a new one')
    .option('--resource <id>', 'resource id the restore point is filed under (default: image name or volume id)')
    .option('--full', 'do not use the previous restore point as parent')
    .option('--tag <key=value...>', 'tags recorded in the restore point')
    .action(async (o: BackupFlags) => {
      const g = globals();
      if (!o.image === !o.volume) throw new InvalidArgumentError('give exactly one of --image <file> or --volume <id>');
      if (o.volume && !o.volumesDir) throw new InvalidArgumentError('--volume needs --volumes-dir <dir>');
      const limiter = limiterFor(g);
      const m = await withRepoAndProcessor(g, async (repo, processor) => {
        const resourceId = o.resource ?? (o.image ? basename(o.image) : o.volume!);
        const parent = o.full ? null : await latestPoint(repo, resourceId);
        const { source, disk } = await plan(o, parent);
        const resource: ResourceRef = { id: resourceId, kind: 'volume', provider: 'local' };
        const view = progressFor(g);
        return runBackup({ repo, source, processor, request: { resource, disks: [disk], parent, tags: parseTags(o.tag) }, onProgress: view.listener, limiter })
          .finally(() => view.stop())
          .finally(() => (source instanceof ImageFileSource ? source.close() : undefined));
      });
      emit(g, m, () => summarize(m));
    });
}
