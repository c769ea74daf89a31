// `cloudkeep repo init | info | verify | key`: create, describe, health-check a repository and manage its keys.
import type { Command } from 'commander';
import { systemClock } from '../../core/clock.ts';
import { PassphraseKeyProvider } from '../../core/crypto/passphrase-key-provider.ts';
import { Secret } from '../../core/crypto/secret.ts';
import { verifyRepository } from '../../core/maintenance/verify.ts';
import { DEFAULT_PARAMS, type RepoParams } from '../../core/repo/config.ts';
import { INDEX_PREFIX, PACKS_PREFIX } from '../../core/repo/layout.ts';
import { Repository } from '../../core/repo/repository.ts';
import { listAll } from '../../core/store/object-store.ts';
import { formatBytes, parseSize } from '../../core/util/units.ts';
import { emit, keyProviders, openRepo, progressFor, repoLocation, withRepoAndProcessor, type GlobalOptions } from '../context.ts';
import { keyProviderFromSpec } from '../../providers/key-providers.ts';
import { CheckFailedError } from '../errors.ts';
import { ScaleOutObjectStore } from '../../core/store/scale-out-store.ts';
import { evacuateExtent } from '../../core/store/evacuate-extent.ts';
import { InvalidArgumentError } from '../../core/errors.ts';
import { openStore } from '../repo-url.ts';
import { readFile } from 'node:fs/promises';

type Globals = () => GlobalOptions;

export function registerRepo(program: Command, globals: Globals): void {
  const repo = program.command('repo').description('create, inspect and check repositories');
  repo
    .command('init')
    .description('create a new repository (encryption is always on)')
    .option('--block-size <size>', 'source-aligned block size', '512KiB')
    .option('--sub-chunk <size>', 'average sub-chunk size inside a block (equal to the block size: off)', '64KiB')
    .option('--compression-level <n>', 'zstd level', '1')
    .option('--pack-size <size>', 'target pack object size', '32MiB')
    .action(async (o: { blockSize: string; subChunk: string; compressionLevel: string; packSize: string }) => {
      const g = globals();
      const blockSize = parseSize(o.blockSize, '--block-size');
      const avg = parseSize(o.subChunk, '--sub-chunk');
      const params: RepoParams = {
        ...DEFAULT_PARAMS,
        chunking: { ...DEFAULT_PARAMS.chunking, blockSize, subChunkAverage: avg, subChunkMin: Math.min(avg, DEFAULT_PARAMS.chunking.subChunkMin) },
        compression: { algorithm: 'zstd', level: Number(o.compressionLevel) },
        packTargetSize: parseSize(o.packSize, '--pack-size'),
      };
      const [first] = await keyProviders(g);
      const r = await Repository.init(await openStore(repoLocation(g)), first, params, systemClock);
      emit(g, { id: r.config.id, location: r.store.description, params: r.params }, () => `created repository ${r.config.id} at ${r.store.description}`);
    });
  repo
    .command('info')
    .description('show the format, parameters, keys and size of a repository')
    .action(async () => {
      const g = globals();
      const r = await openRepo(g);
      const packs = await listAll(r.store, PACKS_PREFIX);
      const indexes = await listAll(r.store, INDEX_PREFIX);
      const points = await r.listPointIds();
      const keys = await Repository.listKeys(r.store);
      const packBytes = packs.reduce((a, p) => a + p.size, 0);
      const info = { id: r.config.id, location: r.store.description, version: r.config.version, createdAt: r.config.createdAt, params: r.params, keys: keys.map((k) => ({ id: k.id, provider: k.provider, createdAt: k.createdAt })), restorePoints: points.length, packs: packs.length, packBytes, indexes: indexes.length };
      emit(g, info, () =>
        [
          `repository ${info.id} (format v${info.version}) at ${info.location}`,
          `  block ${formatBytes(r.params.chunking.blockSize)}, sub-chunks ~${formatBytes(r.params.chunking.subChunkAverage)}, zstd ${r.params.compression.level}, ${r.params.encryption}, packs ~${formatBytes(r.params.packTargetSize)}`,
          `  ${points.length} restore points, ${packs.length} packs (${formatBytes(packBytes)}), ${indexes.length} index objects, ${keys.length} key(s)`,
        ].join('\n'),
      );
    });
  repo
    .command('verify')
    .description('check the repository: structure, or with --full every chunk re-read and authenticated')
    .option('--full', 're-read and authenticate every chunk the restore points use')
    .option('--point <id...>', 'check only these restore points in full')
    .action(async (o: { full?: boolean; point?: string[] }) => {
      const g = globals();
      const view = progressFor(g);
      // Only a full check reads chunks: its threads start while the repository opens.
      const report = await withRepoAndProcessor(g, (r, p) => verifyRepository(r, p, { full: o.full, points: o.point, onProgress: view.listener }), o.full === true).finally(() =>
        view.stop(),
      );
      emit(g, report, () =>
        [
          `${report.ok ? 'no problems found' : `${report.problems.length} problem(s) found`}: ${report.points} restore points, ${report.indexes} indexes, ${report.packs} packs${o.full ? `, ${report.chunksChecked} chunks (${formatBytes(report.bytesChecked)}) re-read` : ''}`,
          ...(report.unindexedPacks > 0 ? [`  ${report.unindexedPacks} unindexed pack(s) from interrupted backups: prune removes them`] : []),
          ...report.problems.map((p) => `  ${p.key}: ${p.problem}`),
        ].join('\n'),
      );
      if (!report.ok) throw new CheckFailedError(`verify found ${report.problems.length} problem(s)`);
    });
  repo
    .command('evacuate-extent <id>')
    .description('move every pack off a scale-out extent that is in maintenance (copy, check, then delete)')
    .action(async (id: string) => {
      const g = globals();
      const r = await openRepo(g);
      if (!(r.store instanceof ScaleOutObjectStore)) throw new InvalidArgumentError(`${r.store.description} is not a scale-out repository (expected --repo scaleout:/path/extents.json)`);
      const view = progressFor(g);
      const report = await evacuateExtent(r.store, id, { onProgress: view.listener }).finally(() => view.stop());
      emit(g, report, () => `moved ${report.packs} pack(s), ${formatBytes(report.bytes)}, off extent ${id}`);
    });
  const key = repo.command('key').description('manage the keys that open the repository');
  key.command('list').action(async () => {
    const g = globals();
    const r = await openRepo(g);
    const keys = await Repository.listKeys(r.store);
    emit(g, keys.map((k) => ({ id: k.id, provider: k.provider, createdAt: k.createdAt })), () => keys.map((k) => `${k.id}  ${k.provider}  ${k.createdAt}`).join('\n'));
  });
  key
    .command('add [spec]')
    .description('add a key: aws-kms:<arn|alias>, azure-keyvault:<key-url>, or a passphrase from --new-passphrase-file')
    .option('--new-passphrase-file <file>', 'file holding the new passphrase')
    .action(async (spec: string | undefined, o: { newPassphraseFile?: string }) => {
      const g = globals();
      if (!spec === !o.newPassphraseFile) throw new InvalidArgumentError('give a key spec (aws-kms:..., azure-keyvault:...) or --new-passphrase-file <file>, not both');
      const r = await openRepo(g);
      const provider = o.newPassphraseFile
        ? new PassphraseKeyProvider(new Secret((await readFile(o.newPassphraseFile, 'utf8')).replace(/\r?\n$/, '')))
        : keyProviderFromSpec(spec!);
      const k = await r.addKey(provider);
      emit(g, { id: k.id, provider: k.provider }, () => `added ${k.provider} key ${k.id}`);
    });
  key.command('remove <id>').action(async (id: string) => {
    const g = globals();
    const r = await openRepo(g);
    await r.removeKey(id);
    emit(g, { removed: id }, () => `removed key ${id}`);
  });
}
