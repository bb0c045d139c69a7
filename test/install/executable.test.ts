// The `pictograph` executable: found through a link (as npm links it), it runs the built CLI with the memory
// settings of the command's kind of work: the server's fixed mmap threshold for `serve` and `up` only.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { repoRoot } from '../support/env.js';

const dir = mkdtempSync(join(tmpdir(), 'pictograph-bin-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const link = join(dir, 'pictograph');
symlinkSync(join(repoRoot, 'bin', 'pictograph'), link);
// Node loads this before the CLI and answers with the allocator settings the process was started with.
const probe = join(dir, 'probe.cjs');
writeFileSync(probe, 'process.stdout.write(String(process.env.GLIBC_TUNABLES)); process.exit(0);\n');

function settings(args: string[], tunables?: string): string {
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_OPTIONS: `--require ${probe}` };
  delete env.GLIBC_TUNABLES;
  if (tunables !== undefined) env.GLIBC_TUNABLES = tunables;
  return execFileSync(link, args, { env, encoding: 'utf8' });
}

test('runs the built CLI through a link', () => {
  const version = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')).version as string;
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  assert.equal(execFileSync(link, ['--version'], { env, encoding: 'utf8' }).trim(), version);
});

test("the server keeps the fixed mmap threshold; batch commands keep glibc's adaptive one", () => {
  const server = 'glibc.malloc.arena_max=2:glibc.malloc.mmap_threshold=131072';
  assert.equal(settings(['serve', '--port', '1']), server);
  assert.equal(settings(['up', 'photos', '--owner', 'me']), server);
  assert.equal(settings(['ingest', 'photos', '--owner', 'me']), 'glibc.malloc.arena_max=2');
  assert.equal(settings(['--help']), 'glibc.malloc.arena_max=2');
  // the environment's own settings win
  assert.equal(settings(['serve'], 'glibc.malloc.arena_max=1'), 'glibc.malloc.arena_max=1');
});
