import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { calibImages, calibLabels, repoRoot } from '../support/env.js';
import { loadCalibration } from '../../src/taxonomy/calibration-store.js';
import { clopperPearsonLower } from '../../src/taxonomy/binomial.js';
import { crossValidate, evaluate } from '../../src/taxonomy/evaluate.js';
import { calibrate } from '../../src/taxonomy/hedge.js';
import { predictLabelled, parseLabelsTsv } from '../../src/taxonomy/labelled.js';
import { lookupTree } from '../../src/taxonomy/synset-view.js';
import { env, hierarchy } from './fixtures.js';

test('labels TSV columns are found by header name', () => {
  const rows = parseLabelsTsv('name\twnid\tfile\nx\tn01440764\ta.jpg\n', '/imgs');
  assert.deepEqual(rows, [{ file: '/imgs/a.jpg', wnid: 'n01440764' }]);
  assert.throws(() => parseLabelsTsv('file\tlabel\na.jpg\tx\n', '/imgs'), /'file' and 'wnid'/);
});

test('calibrate + eval on the real calibration set with the real model', async () => {
  const h = await hierarchy();
  const data = await predictLabelled(calibImages, calibLabels, { env });
  assert.equal(data.failed.length, 0);
  assert.equal(data.probs.length, 500);
  assert.equal(data.model.id, 'mobilenetv2-12-int8');
  const truths = data.photos.map((p) => p.wnid);

  const cal = calibrate(data.probs, truths, 0.9, { hierarchy: h, modelId: data.model.id });
  assert.ok(cal.met);
  assert.ok(cal.lowerBound >= 0.9 && clopperPearsonLower(Math.round(cal.accuracy * 500), 500) >= 0.9, 'hedged accuracy meets the target with 95% confidence');

  // The committed default was made the same way: it must still reach the target on this set.
  const committed = loadCalibration({ modelId: data.model.id, target: 0.9, rule: 'sum' }, { env })!;
  assert.ok(committed.file.includes(join('data', 'calibrations')));
  const report = evaluate(data.probs, truths, h, { sum: committed, mean: loadCalibration({ modelId: data.model.id, target: 0.9, rule: 'mean' }, { env }) });
  assert.equal(report.n, 500);
  assert.ok(report.top1 > 0.7 && report.top5 > report.top1);
  assert.ok(report.hedged!.accuracy >= 0.9, `hedged accuracy ${report.hedged!.accuracy}`);
  assert.ok(report.hedged!.mean_info_gain_bits > 7.5, `info gain ${report.hedged!.mean_info_gain_bits}`);
  assert.ok(report.hedged!.leaf_share > 0.5 && report.hedged!.leaf_share < 1);
  assert.ok(report.mistake_severity > 0);
  assert.equal(report.mean.rule, 'mean');
  assert.equal(report.mean.top1, report.top1);
  // The report's mean rule cannot hedge (a parent's mean never beats its best child): it answers with leaves only.
  assert.equal(report.mean.hedged!.leaf_share, 1);
  assert.ok(Math.abs(report.mean.hedged!.accuracy - report.top1) < 1e-12);

  // Held-out estimate: calibrate on 4/5, measure on the remaining 1/5 (the acceptance bars).
  const cv = crossValidate(data.probs, truths, h, { target: 0.9, folds: 5 });
  assert.ok(cv.accuracy >= 0.88, `cross-validated accuracy ${cv.accuracy}`);
  assert.ok(cv.mean_info_gain_bits >= 7.5, `cross-validated information gain ${cv.mean_info_gain_bits}`);
});

test('`pictograph tree dog` shows the synset and its path to entity', async () => {
  const run = promisify(execFile);
  const { stdout } = await run(process.execPath, ['--import', 'tsx', join(repoRoot, 'src/cli/main.ts'), 'tree', 'dog'], { env, cwd: repoRoot });
  assert.match(stdout, /n02084071 {2}dog, domestic dog, Canis familiaris/);
  assert.match(stdout, /dog → canine → .* → physical entity → entity/);
  const h = await hierarchy();
  const json = JSON.parse(JSON.stringify(lookupTree(h.wordnet, 'n02085620', { hierarchy: h })));
  assert.equal(json.synset.lemmas[0], 'Chihuahua');
  assert.equal(lookupTree(h.wordnet, 'qwxzzy'), null);
  assert.equal(lookupTree(h.wordnet, 'dog', { sense: 2 })!.synset.wnid, 'n10114209');
  assert.equal(json.synset.path.at(-1).wnid, 'n00001740');
  assert.equal(json.synset.labelsUnder, 1);
});
