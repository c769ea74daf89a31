// Opening and initializing repositories: each failure raises its typed error with a message that says what to do.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../core/clock.ts';
import { CorruptObjectError, InvalidArgumentError, RepositoryNotFoundError, UnsupportedFormatError, WrongKeyError } from '../../core/errors.ts';
import { FORMAT_VERSION } from '../../core/repo/config.ts';
import { CONFIG_KEY } from '../../core/repo/layout.ts';
import { Repository } from '../../core/repo/repository.ts';
import { listAll } from '../../core/store/object-store.ts';
import { MemoryObjectStore } from '../../providers/memory/memory-object-store.ts';
import { makeRepo, passphrase, SMALL_PARAMS } from '../support/repo-fixture.ts';

async function editConfig(store: MemoryObjectStore, edit: (config: Record<string, any>) => void): Promise<void> {
  const config = JSON.parse((await store.get(CONFIG_KEY)).toString('utf8'));
  edit(config);
  await store.put(CONFIG_KEY, Buffer.from(JSON.stringify(config, null, 2)));
}

async function fresh() {
  const clock = new ManualClock();
  const store = new MemoryObjectStore({ clock });
  const { repo } = await makeRepo({ store, clock });
  return { store, clock, repo };
}

describe('opening a repository', () => {
  it('opens with the right passphrase (control)', async () => {
    const { store, clock, repo } = await fresh();
    const again = await Repository.open(store, [passphrase()], clock);
    assert.equal(again.config.id, repo.config.id);
    assert.ok(again.master.chunkIdKey.equals(repo.master.chunkIdKey));
  });

  it('a wrong passphrase raises WrongKeyError that mentions the passphrase', async () => {
    const { store, clock } = await fresh();
    await assert.rejects(Repository.open(store, [passphrase('wrong horse')], clock), (err) => {
      assert.ok(err instanceof WrongKeyError, String(err));
      assert.match(err.message, /passphrase/);
      assert.doesNotMatch(err.message, /wrong horse|correct horse/, 'the message leaks a passphrase');
      return true;
    });
  });

  it('a truncated config raises CorruptObjectError for key "config"', async () => {
    const { store, clock } = await fresh();
    const raw = await store.get(CONFIG_KEY);
    await store.put(CONFIG_KEY, raw.subarray(0, Math.floor(raw.length / 2)));
    await assert.rejects(Repository.open(store, [passphrase()], clock), (err) => err instanceof CorruptObjectError && err.key === CONFIG_KEY);
  });

  it('an empty config raises CorruptObjectError for key "config"', async () => {
    const { store, clock } = await fresh();
    await store.put(CONFIG_KEY, Buffer.alloc(0));
    await assert.rejects(Repository.open(store, [passphrase()], clock), (err) => err instanceof CorruptObjectError && err.key === CONFIG_KEY);
  });

  it('a config of version 2 raises UnsupportedFormatError naming both versions', async () => {
    const { store, clock } = await fresh();
    await editConfig(store, (c) => (c.version = 2));
    await assert.rejects(Repository.open(store, [passphrase()], clock), (err) => {
      assert.ok(err instanceof UnsupportedFormatError, String(err));
      assert.match(err.message, /version 2\b/);
      assert.match(err.message, new RegExp(`version ${FORMAT_VERSION}\\b`));
      return true;
    });
  });

  it('a config whose compression level was edited fails authentication', async () => {
    const { store, clock } = await fresh();
    await editConfig(store, (c) => (c.params.compression.level = 19));
    await assert.rejects(Repository.open(store, [passphrase()], clock), (err) => {
      assert.ok(err instanceof CorruptObjectError, String(err));
      assert.equal(err.key, CONFIG_KEY);
      assert.match(err.message, /authentication/);
      return true;
    });
  });

  it('a config whose pack size was edited fails authentication too', async () => {
    const { store, clock } = await fresh();
    await editConfig(store, (c) => (c.params.packTargetSize = 1024 * 1024));
    await assert.rejects(Repository.open(store, [passphrase()], clock), (err) => err instanceof CorruptObjectError && /authentication/.test(err.message));
  });

  it('a config of another format raises CorruptObjectError, not a version error', async () => {
    const { store, clock } = await fresh();
    await editConfig(store, (c) => (c.format = 'something-else'));
    await assert.rejects(Repository.open(store, [passphrase()], clock), (err) => err instanceof CorruptObjectError && err.key === CONFIG_KEY);
  });

  it('an empty location raises RepositoryNotFoundError that suggests "repo init"', async () => {
    const store = new MemoryObjectStore();
    await assert.rejects(Repository.open(store, [passphrase()], new ManualClock()), (err) => {
      assert.ok(err instanceof RepositoryNotFoundError, String(err));
      assert.match(err.message, /repo init/);
      assert.match(err.message, /memory:\/\//, 'the message names the location');
      return true;
    });
  });

  it('a repository without key objects is reported as corrupt', async () => {
    const { store, clock } = await fresh();
    for await (const info of store.list('keys/')) await store.delete(info.key);
    await assert.rejects(Repository.open(store, [passphrase()], clock), CorruptObjectError);
  });
});

describe('initializing a repository', () => {
  it('init twice raises InvalidArgumentError and leaves the first repository intact', async () => {
    const { store, clock, repo } = await fresh();
    await assert.rejects(Repository.init(store, passphrase('other'), SMALL_PARAMS, clock), (err) => {
      assert.ok(err instanceof InvalidArgumentError, String(err));
      assert.match(err.message, /already holds a repository/);
      return true;
    });
    const keys = await Repository.listKeys(store);
    assert.equal(keys.length, 1, 'the refused init added a key');
    assert.equal((await Repository.open(store, [passphrase()], clock)).config.id, repo.config.id);
    await assert.rejects(Repository.open(store, [passphrase('other')], clock), WrongKeyError);
  });

  it('refuses invalid parameters', async () => {
    const store = new MemoryObjectStore();
    const bad = { ...SMALL_PARAMS, chunking: { ...SMALL_PARAMS.chunking, blockSize: 65536 + 4096 * 3, pageSize: 8192 } };
    await assert.rejects(Repository.init(store, passphrase(), bad, new ManualClock()), InvalidArgumentError);
    assert.equal((await listAll(store, '')).length, 0, 'a refused init wrote objects');
  });
});

describe('managing keys', () => {
  it('a second passphrase opens the same repository', async () => {
    const { store, clock, repo } = await fresh();
    await repo.addKey(passphrase('second secret'));
    assert.equal((await Repository.listKeys(store)).length, 2);
    const viaSecond = await Repository.open(store, [passphrase('second secret')], clock);
    assert.equal(viaSecond.config.id, repo.config.id);
    assert.ok(viaSecond.master.chunkIdKey.equals(repo.master.chunkIdKey));
    assert.equal((await Repository.open(store, [passphrase()], clock)).config.id, repo.config.id);
  });

  it('the last key cannot be removed', async () => {
    const { store, clock, repo } = await fresh();
    const [only] = await Repository.listKeys(store);
    await assert.rejects(repo.removeKey(only.id), (err) => err instanceof InvalidArgumentError && /last key/.test(err.message));
    assert.equal((await Repository.listKeys(store)).length, 1);
    await Repository.open(store, [passphrase()], clock);
  });

  it('removing a key makes its passphrase stop working; the other still works', async () => {
    const { store, clock, repo } = await fresh();
    const [original] = await Repository.listKeys(store);
    const second = await repo.addKey(passphrase('second secret'));
    await repo.removeKey(original.id);
    await assert.rejects(Repository.open(store, [passphrase()], clock), WrongKeyError);
    const opened = await Repository.open(store, [passphrase('second secret')], clock);
    assert.equal(opened.config.id, repo.config.id);
    assert.deepEqual((await Repository.listKeys(store)).map((k) => k.id), [second.id]);
    await assert.rejects(opened.removeKey(second.id), InvalidArgumentError);
  });

  it('removing an unknown key id is refused and names the known ids', async () => {
    const { store, repo } = await fresh();
    const [only] = await Repository.listKeys(store);
    await assert.rejects(repo.removeKey('nope'), (err) => err instanceof InvalidArgumentError && err.message.includes(only.id));
  });
});
