// prefetchKey: for a command that opens a local repository, the key object's derivation starts at
// once and opening the repository takes it; anything else (other command, other key, cloud URL,
// no passphrase, a passphrase pipe, no or several key objects) starts nothing.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { systemClock } from '../../core/clock.ts';
import { PassphraseKeyProvider } from '../../core/crypto/passphrase-key-provider.ts';
import { derivationsAhead, deriveKey } from '../../core/crypto/scrypt-kdf.ts';
import { DEFAULT_PARAMS } from '../../core/repo/config.ts';
import { Repository } from '../../core/repo/repository.ts';
import { FileObjectStore } from '../../providers/local/file-object-store.ts';
import { prefetchKey } from '../../cli/key-prefetch.ts';
import { FAST_SCRYPT } from '../support/repo-fixture.ts';

const PASS = 'prefetch passphrase';
const argv = (...rest: string[]) => ['node', 'cloudkeep', ...rest];

describe('prefetchKey', () => {
  let dir = '';
  let repoDir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ck-prefetch-'));
    repoDir = join(dir, 'repo');
    await Repository.init(new FileObjectStore(repoDir), new PassphraseKeyProvider(PASS, FAST_SCRYPT), DEFAULT_PARAMS, systemClock);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('starts the derivation the repository opens with', async () => {
    assert.equal(prefetchKey('points', argv('--repo', repoDir, 'points', 'list'), { CLOUDKEEP_PASSPHRASE: PASS }), true);
    assert.equal(derivationsAhead(), 1);
    const repo = await Repository.open(new FileObjectStore(repoDir), [new PassphraseKeyProvider(PASS, FAST_SCRYPT)], systemClock);
    assert.ok(repo.master.chunkIdKey.length > 0);
    assert.equal(derivationsAhead(), 0, 'opening took it');
  });

  it('reads the passphrase file, the --repo= form and the environment repository', async () => {
    const file = join(dir, 'pass.txt');
    await writeFile(file, `${PASS}\n`);
    assert.equal(prefetchKey('backup', argv(`--repo=file://${repoDir}`, '--passphrase-file', file, 'backup'), {}), true);
    assert.equal(prefetchKey('repo', argv('repo', 'info'), { CLOUDKEEP_REPOSITORY: repoDir, CLOUDKEEP_PASSPHRASE: PASS }), true);
    assert.equal(derivationsAhead(), 1, 'the same inputs: one derivation');
    await Repository.open(new FileObjectStore(repoDir), [new PassphraseKeyProvider(PASS, FAST_SCRYPT)], systemClock);
    assert.equal(derivationsAhead(), 0);
  });

  it('starts nothing for other commands, other keys, cloud or missing repositories, or without a passphrase', async () => {
    const env = { CLOUDKEEP_PASSPHRASE: PASS };
    assert.equal(prefetchKey('demo', argv('--repo', repoDir, 'demo'), env), false);
    assert.equal(prefetchKey(null, argv('--repo', repoDir, '--help'), env), false);
    assert.equal(prefetchKey('points', argv('--repo', repoDir, '--key', 'aws-kms:alias/x', 'points', 'list'), env), false);
    assert.equal(prefetchKey('points', argv('--repo', repoDir, 'points', 'list'), { ...env, CLOUDKEEP_KEY: 'azure-keyvault:https://v/keys/k' }), false);
    assert.equal(prefetchKey('points', argv('--repo', 's3://bucket/prefix', 'points', 'list'), env), false);
    assert.equal(prefetchKey('points', argv('--repo', join(dir, 'nothing'), 'points', 'list'), env), false);
    assert.equal(prefetchKey('points', argv('--repo', repoDir, 'points', 'list'), {}), false);
    assert.equal(prefetchKey('points', argv('--repo', repoDir, '--passphrase-file', join(dir, 'missing'), 'points', 'list'), env), false);
    // A pipe is read once, by the command: the prefetch leaves it alone.
    const fifo = join(dir, 'pass.fifo');
    execFileSync('mkfifo', [fifo]);
    assert.equal(prefetchKey('points', argv('--repo', repoDir, '--passphrase-file', fifo, 'points', 'list'), env), false);
    assert.equal(derivationsAhead(), 0);
  });

  it('a wrong passphrase derives a key that opens nothing, and the repository still says so', async () => {
    assert.equal(prefetchKey('points', argv('--repo', repoDir, 'points', 'list'), { CLOUDKEEP_PASSPHRASE: 'wrong' }), true);
    await assert.rejects(Repository.open(new FileObjectStore(repoDir), [new PassphraseKeyProvider('wrong', FAST_SCRYPT)], systemClock), /passphrase|key/i);
    assert.equal(derivationsAhead(), 0);
    assert.ok((await deriveKey('x', Buffer.alloc(32), FAST_SCRYPT)).length === 32);
  });
});
