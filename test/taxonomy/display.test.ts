import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chooseDisplayCategories, chooseTreemapCategories, compileCategories, displayNode, readCategoryFile, scoreCategories, validateCategoryFile } from '../../src/taxonomy/categories.js';
import { applyPolicyToCategories, applyPolicyToHedged, applyPolicyToLabels, compilePolicy, displayName, readPolicyFile } from '../../src/taxonomy/policy.js';
import { analyzePrediction, hedgedPath } from '../../src/taxonomy/analysis.js';
import { loadTaxonomy } from '../../src/taxonomy/load.js';
import { scoreNodes } from '../../src/taxonomy/score.js';
import { env, hierarchy, probsFrom } from './fixtures.js';

const CHIHUAHUA = 151;
const TABBY = 281;
const GORILLA = 366;
const BANANA = 954;

test('the categories file: every category reaches model labels, ids unique, parents contain children', async () => {
  const h = await hierarchy();
  const cats = compileCategories(h, readCategoryFile());
  for (const id of ['dog', 'cat', 'bird', 'fish', 'insect', 'flower', 'plant', 'food', 'fruit', 'drink', 'car', 'boat', 'aircraft', 'building', 'furniture', 'clothing', 'musical-instrument', 'sports-equipment', 'landscape']) {
    assert.ok(cats.byId.get(id), `category ${id}`);
  }
  for (const c of cats.list) {
    assert.ok(c.nodes.length > 0 && c.leaves.length > 0, `${c.id} reaches no label`);
    if (c.parent) {
      const parent = new Set(cats.byId.get(c.parent)!.leaves);
      for (const l of c.leaves) assert.ok(parent.has(l), `${c.id} label ${l} not under parent ${c.parent}`);
    }
  }
  assert.equal(h.names[h.leafNode[CHIHUAHUA]], 'Chihuahua');
  assert.throws(() => validateCategoryFile({ categories: [{ id: 'a', name: 'A', wnids: ['dog'] }], abstract: [] }), /not a noun wnid/);
  assert.throws(() => validateCategoryFile({ categories: [{ id: 'a', name: 'A', wnids: ['n02084071'] }, { id: 'a', name: 'B', wnids: ['n02084071'] }], abstract: [] }), /twice/);
});

test('categories score as probabilities and display picks the most specific ones', async () => {
  const h = await hierarchy();
  const cats = compileCategories(h, readCategoryFile());
  const scores = scoreCategories(cats, scoreNodes(h, probsFrom([[CHIHUAHUA, 0.7], [TABBY, 0.2], [BANANA, 0.1]]), 'sum'));
  const by = new Map(scores.map((s) => [s.id, s.score]));
  assert.ok(Math.abs(by.get('dog')! - 0.7) < 1e-6);
  assert.ok(Math.abs(by.get('mammal')! - 0.9) < 1e-6);
  assert.ok(Math.abs(by.get('fruit')! - 0.1) < 1e-6, 'a multi-wnid category counts each label once');
  const shown = chooseDisplayCategories(cats, scores, { min: 0.15, max: 3 });
  assert.deepEqual(shown.map((s) => s.id), ['dog', 'cat'], 'dog and cat hide mammal and animal');
  // abstract nodes are never displayed: placental -> mammal; instrumentality has nothing concrete above it
  assert.equal(h.wnids[displayNode(cats, h.node('n01886756')!)!], 'n01861778');
  assert.equal(displayNode(cats, h.node('n03575240')!), undefined);
  assert.equal(displayNode(cats, h.node('n02084071')!), h.node('n02084071'));
});

test('treemap cells never nest, and a category gives way to the subcategory holding most of it', async () => {
  const h = await hierarchy();
  const cats = compileCategories(h, readCategoryFile());
  // A dog lover: 82 animals of which 59 mammals, all 59 dogs; a few birds, fish, cars, one flower.
  const counts = [
    { id: 'animal', count: 82 }, { id: 'mammal', count: 59 }, { id: 'dog', count: 59 }, { id: 'bird', count: 12 },
    { id: 'fish', count: 7 }, { id: 'vehicle', count: 9 }, { id: 'car', count: 4 }, { id: 'flower', count: 1 }, { id: 'plant', count: 1 },
  ];
  const cells = chooseTreemapCategories(cats, counts, { max: 4 });
  assert.deepEqual(cells.map((c) => c.id), ['dog', 'bird', 'vehicle', 'fish']);
  // Vehicle (9) keeps its own cell: car holds 4 of 9, under the two-thirds needed to stand for it.
  assert.deepEqual(chooseTreemapCategories(cats, counts, { max: 10 }).map((c) => c.id), ['dog', 'bird', 'vehicle', 'fish', 'flower']);
  // Without a dominant subcategory the broad category stays.
  assert.deepEqual(chooseTreemapCategories(cats, [{ id: 'animal', count: 10 }, { id: 'dog', count: 3 }, { id: 'cat', count: 3 }], { max: 4 }).map((c) => c.id), ['animal']);
  assert.deepEqual(chooseTreemapCategories(cats, [{ id: 'nope', count: 3 }, { id: 'food', count: 0 }]), []);
});

test('the label policy holds back primates and people below high confidence, renames, suppresses', async () => {
  const h = await hierarchy();
  const policy = compilePolicy(h, readPolicyFile());
  const gorilla = { wnid: h.labelSet.wnids[GORILLA], index: GORILLA, name: 'gorilla', score: 0.6 };
  assert.equal(h.names[h.leafNode[GORILLA]], 'gorilla');
  assert.deepEqual(applyPolicyToLabels(policy, [gorilla]), []);
  assert.equal(applyPolicyToLabels(policy, [{ ...gorilla, score: 0.95 }]).length, 1);
  // a hedged "gorilla" at 0.6 falls back to the first allowed hypernym (above the primates)
  const values = scoreNodes(h, probsFrom([[GORILLA, 0.6], [TABBY, 0.4]]), 'sum').values;
  const shown = applyPolicyToHedged(policy, h.leafNode[GORILLA], values)!;
  assert.ok(!h.isUnder(GORILLA, shown) || h.leaves[shown].length > 20);
  assert.ok(h.primaryPath(h.leafNode[GORILLA]).includes(shown));
  assert.equal(displayName(policy, h.node('n01886756')!), 'placental mammal');
  const custom = compilePolicy(h, { rules: [{ wnid: 'n02084071', subtree: true, suppress: true }] });
  assert.equal(applyPolicyToLabels(custom, [{ wnid: h.labelSet.wnids[CHIHUAHUA], index: CHIHUAHUA, name: 'Chihuahua', score: 1 }]).length, 0);
  assert.equal(applyPolicyToCategories(custom, [{ id: 'dog', name: 'Dog', wnid: 'n02084071', score: 1 }]).length, 0);
  assert.equal(applyPolicyToHedged(custom, h.leafNode[CHIHUAHUA], values) !== undefined, true);
});

test('analyzePrediction fills the PhotoAnalysis contract; hedgedPath climbs to entity', async () => {
  const tax = await loadTaxonomy({ modelId: 'mobilenetv2-12-int8', target: 0.9, env });
  assert.ok(tax.calibration, 'the committed default calibration is found');
  assert.equal(tax.calibration!.rule, 'sum');
  const dogs = Array.from(tax.hierarchy.leaves[tax.hierarchy.node('n02087551')!]).slice(0, 8); // hounds
  const probs = probsFrom(dogs.map((l) => [l, 1] as [number, number]), 1000, 1e-5);
  const embedding = new Float32Array([0.6, 0.8]);
  const a = analyzePrediction({ probs, embedding, model: { id: 'mobilenetv2-12-int8', sha256: 'x' } }, { ...tax, top: 3 });
  assert.equal(a.labels.length, 3);
  assert.ok(a.labels[0].score >= a.labels[1].score);
  assert.ok(a.hedged);
  assert.equal(a.hedged!.target, 0.9);
  assert.ok(tax.hierarchy.leaves[tax.hierarchy.node(a.hedged!.wnid)!].length > 1, `hedged ${a.hedged!.name} should not be a single breed`);
  for (const l of dogs) assert.ok(tax.hierarchy.isUnder(l, tax.hierarchy.node(a.hedged!.wnid)!));
  assert.ok(a.nodeScores.length > 0 && a.nodeScores.every((s) => s.score >= 0.01));
  for (let i = 1; i < a.nodeScores.length; i++) assert.ok(a.nodeScores[i - 1].score >= a.nodeScores[i].score);
  assert.equal(a.nodeScores[0].wnid, 'n00001740');
  assert.equal(a.categories[0].id === 'animal' || a.categories[0].id === 'mammal' || a.categories[0].id === 'dog', true);
  assert.ok(a.categories.some((c) => c.id === 'dog' && c.score > 0.99));
  assert.equal(a.embedding, embedding);
  const path = hedgedPath(tax.hierarchy, a.hedged!.wnid);
  assert.equal(path[0].wnid, a.hedged!.wnid);
  assert.deepEqual(path[path.length - 1], { wnid: 'n00001740', name: 'entity' });
  assert.ok(path.some((p) => p.wnid === 'n02084071'));
  assert.deepEqual(hedgedPath(tax.hierarchy, 'n99999999'), []);
  // no calibration for an unknown target: hedged is null, the rest stays
  const none = await loadTaxonomy({ modelId: 'mobilenetv2-12-int8', target: 0.777, env });
  assert.equal(none.calibration, null);
  assert.equal(analyzePrediction({ probs, model: { id: 'm', sha256: 'x' } }, none).hedged, null);
});
