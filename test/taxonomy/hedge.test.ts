import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { binomialUpperTail, clopperPearsonLower } from '../../src/taxonomy/binomial.js';
import { calibrate, calibrateSample, hedge, hedgeStats, prepareSample } from '../../src/taxonomy/hedge.js';
import { scoreNodes } from '../../src/taxonomy/score.js';
import { hierarchy, probsFrom } from './fixtures.js';

test('Clopper-Pearson lower bounds match closed forms and known values', () => {
  // k = n: the bound is alpha^(1/n)
  assert.ok(Math.abs(clopperPearsonLower(10, 10, 0.95) - 0.05 ** (1 / 10)) < 1e-9);
  assert.equal(clopperPearsonLower(0, 10), 0);
  // 450/500 at 95% one-sided: ~0.8755 (Beta(0.05; 450, 51))
  assert.ok(Math.abs(clopperPearsonLower(450, 500, 0.95) - 0.8755) < 1e-3);
  assert.ok(Math.abs(binomialUpperTail(3, 3, 0.5) - 0.125) < 1e-12);
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 300 }), fc.integer({ min: 0, max: 300 }), (n, k0) => {
      const k = k0 % (n + 1);
      const lb = clopperPearsonLower(k, n, 0.95);
      assert.ok(lb <= k / n + 1e-12 && lb >= 0);
      if (k > 0) assert.ok(Math.abs(binomialUpperTail(k, n, lb) - 0.05) < 1e-6);
    }),
    { numRuns: 100 },
  );
});

test('hedge: a sure leaf is returned as is; lambda trades specificity for accuracy', async () => {
  const h = await hierarchy();
  const sure = scoreNodes(h, probsFrom([[151, 1]]), 'sum').values;
  assert.equal(hedge(h, sure, 0), h.leafNode[151]);
  assert.equal(hedge(h, sure, 1e6), h.leafNode[151]);
  // spread over many dog breeds: a small lambda already prefers "dog"-level nodes over one breed
  const dogs = h.leaves[h.node('n02084071')!];
  const spread = scoreNodes(h, probsFrom(Array.from(dogs, (l) => [l, 1] as [number, number])), 'sum').values;
  const chosen = hedge(h, spread, 0);
  assert.equal(h.wnids[chosen], 'n02084071');
  // large lambda: the most specific node holding all the mass (p = 1) wins over anything uncertain
  const unsure = scoreNodes(h, probsFrom([[151, 1], [281, 1], [409, 1]]), 'sum').values;
  const safe = hedge(h, unsure, 1e7);
  assert.ok(Math.abs(unsure[safe] - 1) < 1e-6);
  for (const l of [151, 281, 409]) assert.ok(h.isUnder(l, safe));
  assert.equal(h.wnids[safe], 'n00003553', 'whole: the common ancestor of a dog, a cat and a clock');
  assert.equal(hedge(h, unsure, 0) !== safe, true, 'without lambda it commits to something more specific');
});

test('calibration meets its target (one-sided 95% bound) on the calibration sample', async () => {
  const h = await hierarchy();
  // Synthetic noisy predictions: the truth gets weight w, a sibling-ish confuser and random labels the rest.
  const sampleArb = fc.array(
    fc.tuple(fc.integer({ min: 0, max: 999 }), fc.double({ min: 0, max: 1, noNaN: true }), fc.integer({ min: 0, max: 999 }), fc.integer({ min: 0, max: 999 })),
    { minLength: 60, maxLength: 120 },
  );
  fc.assert(
    fc.property(sampleArb, fc.constantFrom(0.7, 0.8, 0.9), (rows, target) => {
      const preds = rows.map(([t, w, a, b]) => probsFrom([[t, w], [t ^ 1, 0.5 * (1 - w)], [a, 0.3 * (1 - w)], [b, 0.2 * (1 - w)]], 1000, 1e-5));
      const truths = rows.map(([t]) => t);
      const sample = prepareSample(h, preds, truths, 'sum');
      const cal = calibrateSample(sample, target, {});
      assert.ok(cal.met, 'the root is always right, so some lambda meets any target below the bound of n/n');
      const s = hedgeStats(sample, cal.lambda);
      assert.ok(clopperPearsonLower(s.correct, s.n, 0.95) >= target, `lb ${clopperPearsonLower(s.correct, s.n)} < ${target}`);
      assert.equal(s.accuracy, cal.accuracy);
      const plain = calibrateSample(sample, target, { bound: 'none' });
      assert.ok(hedgeStats(sample, plain.lambda).accuracy >= target);
      assert.ok(plain.lambda <= cal.lambda + 1e-9, 'the bound only makes it more conservative');
    }),
    { numRuns: 15 },
  );
});

test('calibrate() takes wnid truths and records model, rule and bound', async () => {
  const h = await hierarchy();
  const preds = [probsFrom([[151, 0.5], [152, 0.5]]), probsFrom([[281, 0.9], [282, 0.1]])];
  const cal = calibrate(preds, ['n02085620', 'n02123045'], 0.5, { hierarchy: h, modelId: 'm', bound: 'none' });
  assert.equal(cal.modelId, 'm');
  assert.equal(cal.rule, 'sum');
  assert.equal(cal.bound, 'none');
  assert.equal(cal.accuracy >= 0.5, true);
  assert.throws(() => calibrate(preds, ['n02085620', 'n99999999'], 0.5, { hierarchy: h }), /not a label/);
});
