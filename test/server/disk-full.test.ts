// A real full disk: `pictograph serve` runs in its own mount namespace with the media folder on a 1 MiB tmpfs,
// photos are uploaded until it is full. Answers are 200 or 507 `storage_full` (never another 5xx), classify
// keeps working, and afterwards `pictograph doctor` (in the same namespace) finds the media folder holding
// exactly the files stored photos reference. Skipped where mounts are not permitted (the simulated ENOSPC in
// hardening.test.ts runs everywhere).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, test } from 'node:test';
import { openLibrary } from '../../src/library/db.js';
import { ensureOwner } from '../../src/library/store.js';
import { createToken } from '../../src/library/tokens.js';
import { repoRoot, tempHome } from '../support/env.js';
import { calibPhotos } from './fixture.js';

const home = tempHome('pictograph-diskfull-');
const env = { ...home.env, DATABASE_URL: '' };
const media = join(home.home, 'media');
after(() => home.cleanup());

/** `unshare` flags that give us a private mount namespace where tmpfs may be mounted, or null. */
function namespaceFlags(): string[] | null {
  mkdirSync(media, { recursive: true });
  for (const flags of [['-m'], ['-r', '-m']]) {
    const r = spawnSync('unshare', [...flags, 'sh', '-c', `mount -t tmpfs -o size=1m tmpfs "${media}"`], { stdio: 'ignore' });
    if (r.status === 0) return flags;
  }
  return null;
}

test('a full disk answers 507 storage_full and leaves exactly the referenced files', async (t) => {
  const flags = namespaceFlags();
  if (!flags) {
    t.skip('mounting a tmpfs is not permitted here (no root, no user namespaces); see the simulated ENOSPC test');
    return;
  }
  const lib = await openLibrary({ env });
  const token = (await createToken(lib.db, { ownerId: await ensureOwner(lib.db, 'filler') })).token;
  await lib.close();

  const cli = `node --import tsx src/cli/main.ts`;
  const script = `mount -t tmpfs -o size=1m tmpfs "${media}" || exit 97
${cli} serve --port 0 --host 127.0.0.1 --no-web --log-level info || exit 98
${cli} doctor --dry-run --json; exit 0`;
  const proc = spawn('unshare', [...flags, 'sh', '-c', script], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr!.on('data', (d) => (stderr += d));
  const lines: string[] = [];
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  const { base, pid } = await new Promise<{ base: string; pid: number }>((resolve, reject) => {
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      lines.push(line);
      const m = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(line);
      if (m) resolve({ base: m[1]!, pid: JSON.parse(line).pid });
    });
    proc.once('exit', (code) => reject(new Error(`serve exited (${code}) before listening: ${stderr}`)));
  });
  try {
    for (;;) {
      const res = await fetch(`${base}/readyz`).catch(() => null);
      if (res?.status === 200) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const statuses: number[] = [];
    for (const p of calibPhotos().slice(100, 124)) {
      const form = new FormData();
      form.append('file', new Blob([readFileSync(p.file)], { type: 'image/jpeg' }), basename(p.file));
      const res = await fetch(`${base}/v1/photos`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: form }).catch((err) => {
        throw new Error(`upload ${statuses.length + 1} after ${statuses.join(' ')}: ${err.cause ?? err}; server: ${lines.slice(-5).join('\n')} ${stderr}`);
      });
      const body = (await res.json()) as { error?: { code: string } };
      statuses.push(res.status);
      if (res.status !== 200) assert.deepEqual([res.status, body.error?.code], [507, 'storage_full']);
    }
    assert.ok(statuses.includes(200), `some uploads fit (${statuses.join(' ')})`);
    assert.ok(statuses.includes(507), `the disk filled up (${statuses.join(' ')})`);
    const classify = await fetch(`${base}/v1/classify`, { method: 'POST', headers: { 'content-type': 'image/jpeg' }, body: readFileSync(calibPhotos()[0]!.file) });
    assert.equal(classify.status, 200, 'classify stores nothing and keeps working');
  } finally {
    process.kill(pid, 'SIGTERM');
  }
  assert.equal(await exited, 0, stderr);
  const report = JSON.parse(lines[lines.length - 1]!);
  assert.deepEqual(
    { orphans: report.orphans, temporary: [...report.staleTemporary, ...report.liveTemporary], missing: report.missing },
    { orphans: [], temporary: [], missing: [] },
    'the full media folder holds exactly what the stored photos reference',
  );
});
