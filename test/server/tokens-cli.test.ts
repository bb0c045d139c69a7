// `pictograph tokens create|list|revoke` against a throwaway home: the token works, is listed without its
// secret, and stops working once revoked.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, test } from 'node:test';
import { openLibrary } from '../../src/library/db.js';
import { findToken } from '../../src/library/tokens.js';
import { repoRoot, tempHome } from '../support/env.js';

const home = tempHome('pictograph-tokens-');
after(() => home.cleanup());

function cli(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'tokens', ...args], {
    cwd: repoRoot,
    env: { ...home.env, DATABASE_URL: '' },
    encoding: 'utf8',
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('tokens create, list and revoke', async () => {
  const created = cli('create', '--owner', 'erin', '--json');
  assert.equal(created.code, 0, created.stderr);
  const { token, owner, admin } = JSON.parse(created.stdout) as { token: string; owner: string; admin: boolean };
  assert.match(token, /^pgt_[A-Za-z0-9_-]{43}$/);
  assert.deepEqual({ owner, admin }, { owner: 'erin', admin: false });

  const listed = cli('list', '--json');
  assert.equal(listed.code, 0, listed.stderr);
  assert.ok(!listed.stdout.includes(token), 'the secret is never listed');
  const rows = listed.stdout.trim().split('\n').map((l) => JSON.parse(l) as { id: number; owner: string });
  assert.equal(rows.length, 1);
  assert.equal(rows[0]!.owner, 'erin');

  let lib = await openLibrary({ env: { ...home.env, DATABASE_URL: '' } });
  assert.equal((await findToken(lib.db, token))?.owner?.name, 'erin');
  await lib.close();

  assert.equal(cli('revoke', String(rows[0]!.id)).code, 0);
  lib = await openLibrary({ env: { ...home.env, DATABASE_URL: '' } });
  assert.equal(await findToken(lib.db, token), null);
  await lib.close();

  const bad = cli('create');
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /--owner/);
});
