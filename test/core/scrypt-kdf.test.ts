// scrypt-kdf: a derivation started ahead is taken by the matching derive, once; others derive anew.
import assert from 'node:assert/strict';
import { scryptSync } from 'node:crypto';
import { it } from 'node:test';
import { deriveKey, deriveKeyAhead, derivationsAhead } from '../../core/crypto/scrypt-kdf.ts';

const PARAMS = { N: 1024, r: 8, p: 1 };
const salt = Buffer.alloc(32, 7);
const expected = (pass: string) => scryptSync(pass, salt, 32, PARAMS);

it('derives what scrypt derives', async () => {
  assert.ok((await deriveKey('pass', salt, PARAMS)).equals(expected('pass')));
});

it('a derivation started ahead serves the first matching derive, not another passphrase, salt or cost', async () => {
  deriveKeyAhead('pass', salt, PARAMS);
  deriveKeyAhead('pass', salt, PARAMS);
  assert.equal(derivationsAhead(), 1, 'one derivation for the same inputs');
  assert.ok((await deriveKey('other', salt, PARAMS)).equals(expected('other')));
  assert.ok((await deriveKey('pass', Buffer.alloc(32, 8), PARAMS)).equals(scryptSync('pass', Buffer.alloc(32, 8), 32, PARAMS)));
  assert.ok((await deriveKey('pass', salt, { ...PARAMS, N: 2048 })).equals(scryptSync('pass', salt, 32, { ...PARAMS, N: 2048 })));
  assert.equal(derivationsAhead(), 1, 'still waiting for its own use');
  assert.ok((await deriveKey('pass', salt, PARAMS)).equals(expected('pass')));
  assert.equal(derivationsAhead(), 0, 'taken');
});
