// classifyFiles and expandInputs: bad files become error items in place and never stop the others; the
// `classify` and `models` commands end to end.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { Engine } from '../../src/vision/engine.js';
import { classifyFiles, expandInputs } from '../../src/vision/pipeline.js';
import { modelsDir } from '../../src/config/paths.js';
import { resolveModel } from '../../src/vision/store.js';
import { repoRoot, tempHome } from '../support/env.js';
import { calibSet, copyGood, writeBadFiles, type BadFiles } from './fixtures.js';

const run = promisify(execFile);

/** Runs the CLI from source; resolves with exit code and output instead of throwing. */
async function cli(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, ['--import', 'tsx', join(repoRoot, 'src/cli/main.ts'), ...args], { env, cwd: repoRoot, maxBuffer: 1 << 26 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code?: number; stdout: string; stderr: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('pipeline and commands', () => {
  const home = tempHome('pictograph-pipeline-');
  let dir: string;
  let bad: BadFiles;
  let good: string[];

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'pictograph-inputs-'));
    mkdirSync(join(dir, 'sub'));
    good = copyGood(dir, 6);
    bad = writeBadFiles(dir, calibSet()[0].file);
    writeFileSync(join(dir, 'sub', 'README.txt'), 'not an image, ignored when walking folders');
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
    home.cleanup();
  });

  test('expandInputs walks folders for image extensions, sorted; explicit paths are kept', async () => {
    const files = await expandInputs([dir, bad.missing, good[0]]);
    assert.deepEqual(files, [
      join(dir, 'bomb.png'),
      join(dir, 'empty.jpg'),
      ...good,
      join(dir, 'notes.jpg'),
      join(dir, 'truncated.jpg'),
      bad.missing,
    ]);
  });

  test('bad files yield error items in place; every good file is still classified', async () => {
    const engine = await Engine.load({ env: home.env });
    try {
      const inputs = [bad.empty, good[0], bad.truncated, good[1], bad.textAsJpeg, bad.bomb, good[2], bad.bmp, bad.missing, ...good.slice(3)];
      const items = [];
      for await (const item of classifyFiles(inputs, { engine, concurrency: 3, thumbnails: [256] })) items.push(item);
      assert.deepEqual(items.map((i) => i.file), inputs);
      const codes = items.map((i) => ('error' in i ? i.error.code : 'ok'));
      const detail = JSON.stringify(items.map((i) => ('error' in i ? i.error : 'ok')));
      assert.deepEqual(codes, ['empty_file', 'ok', 'truncated', 'ok', 'unsupported_format', 'too_many_pixels', 'ok', 'unsupported_format', 'not_found', 'ok', 'ok', 'ok'], detail);
      const truth = calibSet();
      let hits = 0;
      for (const item of items) {
        if ('error' in item) continue;
        assert.equal(item.decoded?.thumbnails?.[0].size, 256);
        const i = good.indexOf(item.file);
        if (engine.topK(item.prediction.probs, 5).some((l) => l.wnid === truth[i].wnid)) hits++;
      }
      assert.ok(hits >= 5, `${hits} of 6 good photos have the true class in their top 5`);
    } finally {
      await engine.close();
    }
  });

  test('`classify --json` prints one object per photo, errors included, and exits non-zero', async () => {
    const r = await cli(['classify', '--json', '--top', '3', dir], home.env);
    assert.equal(r.code, 1, r.stderr);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(lines.length, 10);
    const byFile = new Map(lines.map((l) => [l.file, l]));
    for (const f of good) {
      const rec = byFile.get(f);
      assert.deepEqual(Object.keys(rec), ['file', 'model', 'labels', 'hedged', 'label', 'path', 'categories', 'tags', 'subject', 'faces', 'people']);
      // Everyday tags (issue 10) and detected faces (issue 11) are lists in every record, best first.
      assert.ok(Array.isArray(rec.tags) && Array.isArray(rec.faces), JSON.stringify(rec));
      for (let i = 1; i < rec.tags.length; i++) assert.ok(rec.tags[i - 1].score >= rec.tags[i].score);
      // The hedged label lies on the path to `entity`, and its lifted score is at least the top label's.
      assert.deepEqual(Object.keys(rec.hedged), ['wnid', 'name', 'score', 'target']);
      assert.equal(rec.hedged.target, 0.9);
      assert.equal(rec.path[0].wnid, rec.hedged.wnid);
      assert.equal(rec.path.at(-1).wnid, 'n00001740');
      assert.ok(rec.hedged.score >= rec.labels[0].score - 1e-6, JSON.stringify(rec.hedged));
      assert.ok(Array.isArray(rec.categories));
      assert.deepEqual(rec.model, { id: 'mobilenetv2-12-int8', sha256: 'cc028fe6cae7bc11a4ff53cfc9b79c920e8be65ce33a904ec3e2a8f66d77f95f' });
      assert.equal(rec.labels.length, 3);
      assert.deepEqual(Object.keys(rec.labels[0]), ['wnid', 'index', 'name', 'score']);
      assert.ok(rec.labels[0].score >= rec.labels[1].score && rec.labels[1].score >= rec.labels[2].score);
    }
    assert.equal(byFile.get(bad.truncated).error.code, 'truncated', byFile.get(bad.truncated).error.message);
    assert.deepEqual(Object.keys(byFile.get(bad.empty)), ['file', 'error']);
    assert.match(byFile.get(bad.bomb).error.message, /30000x30000/);
  });

  test('`classify` prints a readable table and exits 0 when every photo worked', async () => {
    const r = await cli(['classify', good[0], good[1]], home.env);
    assert.equal(r.code, 0, r.stderr);
    const rows = r.stdout.trim().split('\n');
    assert.match(rows[0], /^FILE\s+LABELS \(mobilenetv2-12-int8\)/);
    assert.equal(rows.length, 3);
    assert.match(rows[1], /tench \d+\.\d%/);
    assert.match(r.stderr, /2 classified, 0 failed/);
  });

  test('`models verify` detects a corrupted cached model; `models pull` offline fails clearly', async () => {
    const h = tempHome('pictograph-models-');
    try {
      const env = { ...h.env };
      await resolveModel('mobilenetv2-12-int8', { env });
      let r = await cli(['models', 'verify'], env);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /mobilenetv2-12-int8\s+ok/);
      const file = join(modelsDir(env), 'mobilenetv2-12-int8.onnx');
      const bytes = readFileSync(file);
      writeFileSync(file, bytes.subarray(0, bytes.length - 1000));
      r = await cli(['models', 'verify'], env);
      assert.equal(r.code, 1);
      assert.match(r.stdout, /mobilenetv2-12-int8\s+corrupt\s+checksum mismatch/);
      assert.match(r.stderr, /1 cached model file\(s\) are corrupt/);

      rmSync(file);
      r = await cli(['models', 'pull', 'mobilenetv2-12-int8'], { ...env, PICTOGRAPH_MODEL_MIRROR: '', PICTOGRAPH_MODEL_SOURCE_BASE: 'http://127.0.0.1:9' });
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /model "mobilenetv2-12-int8" \(mobilenetv2-12-int8\.onnx\) could not be found or verified/);
      assert.match(r.stderr, /http:\/\/127\.0\.0\.1:9\/validated\/vision\/classification\/mobilenet\/model\/mobilenetv2-12-int8\.onnx: fetch failed/);
      assert.match(r.stderr, /set PICTOGRAPH_MODEL_MIRROR=/);

    } finally {
      h.cleanup();
    }
  });
});
