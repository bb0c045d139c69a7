import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { scoreNodes, topLabels, topNodes } from '../../src/taxonomy/score.js';
import { Hierarchy } from '../../src/taxonomy/hierarchy.js';
import { mapLabelSet } from '../../src/taxonomy/label-set.js';
import { hierarchy, probsFrom } from './fixtures.js';

const sparse = fc.array(fc.tuple(fc.integer({ min: 0, max: 999 }), fc.double({ min: 0, max: 1, noNaN: true })), { maxLength: 40 });
const floor = fc.constantFrom(0, 1e-6, 1e-3);

test('the imagenet-1k hierarchy: 1000 leaves under entity, a DAG with multiple inheritance', async () => {
  const h = await hierarchy();
  assert.equal(h.labelCount, 1000);
  assert.equal(h.wnids[h.root], 'n00001740');
  assert.equal(h.leaves[h.root].length, 1000);
  const dog = h.node('n02084071')!;
  assert.equal(h.leaves[dog].length, 118);
  assert.equal(h.names[h.leafNode[151]], 'Chihuahua');
  assert.ok(h.parents.some((p) => p.length > 1), 'some node has two parents');
  assert.equal(h.depth[h.root], 0);
  assert.equal(h.reward[h.root], 0);
  assert.ok(Math.abs(h.reward[h.leafNode[0]] - Math.log2(1000)) < 1e-12);
  for (let l = 0; l < 1000; l++) {
    const anc = Array.from(h.ancestorsOfLabel(l));
    assert.equal(new Set(anc).size, anc.length, 'ancestors listed once');
    assert.ok(anc.includes(h.root) && anc.includes(h.leafNode[l]));
    for (const a of anc) assert.ok(h.isUnder(l, a));
  }
});

test('sum: p(root) = 1 and p(parent) >= p(child) on every edge', async () => {
  const h = await hierarchy();
  fc.assert(
    fc.property(sparse, floor, (pairs, f) => {
      const { values } = scoreNodes(h, probsFrom(pairs, 1000, f), 'sum');
      assert.ok(Math.abs(values[h.root] - 1) < 1e-5, `root ${values[h.root]}`);
      for (let c = 0; c < h.size; c++) for (const p of h.parents[c]) assert.ok(values[p] >= values[c], `${h.wnids[p]} < ${h.wnids[c]}`);
    }),
    { numRuns: 60 },
  );
});

test('sum: a node scores exactly its leaves, each counted once even when reachable by several paths', async () => {
  const h = await hierarchy();
  // A node reached from one label along two different paths: the leaf must be counted once.
  const multi = [...Array(h.size).keys()].find((n) => h.parents[n].length > 1 && h.leaves[n].length > 0)!;
  assert.ok(multi !== undefined);
  fc.assert(
    fc.property(sparse, floor, (pairs, f) => {
      const probs = probsFrom(pairs, 1000, f);
      const { values } = scoreNodes(h, probs, 'sum');
      for (const n of [h.root, multi, ...h.parents[multi], h.node('n02084071')!]) {
        let expected = 0;
        for (const l of h.leaves[n]) expected += probs[l];
        assert.ok(Math.abs(values[n] - expected) < 1e-5, `${h.wnids[n]}: ${values[n]} vs ${expected}`);
      }
    }),
    { numRuns: 40 },
  );
});

test("mean: each hypernym is the mean of its children's values; labels keep their probability", async () => {
  const h = await hierarchy();
  fc.assert(
    fc.property(sparse, (pairs) => {
      const probs = probsFrom(pairs);
      const { values } = scoreNodes(h, probs, 'mean');
      for (let n = 0; n < h.size; n++) {
        if (h.labelAt[n] >= 0 && h.children[n].length === 0) { assert.equal(values[n], probs[h.labelAt[n]]); continue; }
        const kids = h.children[n];
        const mean = kids.reduce((s, c) => s + values[c], 0) / kids.length;
        assert.ok(Math.abs(values[n] - mean) < 1e-6);
      }
    }),
    { numRuns: 20 },
  );
});

test('scores look up by wnid, reuse a buffer, and reject wrong-length input', async () => {
  const h = await hierarchy();
  const probs = probsFrom([[151, 0.6], [152, 0.3], [281, 0.1]], 1000, 0); // two dogs and a tabby cat
  const out = new Float32Array(h.size);
  const s = scoreNodes(h, probs, 'sum', out);
  assert.equal(s.values, out);
  assert.ok(Math.abs(s.get('n02084071') - 0.9) < 1e-6);
  assert.equal(s.get('n99999999'), 0);
  const top = topNodes(s, 0.5);
  assert.equal(top[0].score >= top[top.length - 1].score, true);
  assert.ok(top.some((t) => t.wnid === 'n02084071'));
  assert.throws(() => scoreNodes(h, new Float32Array(10), 'sum'), /expected 1000/);
});

test('custom label sets map words and wnids onto synsets', async () => {
  const h = await hierarchy();
  const set = mapLabelSet(h.wordnet, 'pets', ['dog', 'cats', { name: 'kitty', wnid: 'n02123045' }, 'n01503061']);
  assert.deepEqual(set.wnids, ['n02084071', 'n02121620', 'n02123045', 'n01503061']);
  const small = new Hierarchy(h.wordnet, set);
  assert.equal(small.labelCount, 4);
  assert.equal(small.wnids[small.root], 'n00001740');
  // "tabby" lies under "cat": the DAG keeps both as labels, the cat node's leaves include the tabby label
  assert.deepEqual(Array.from(small.leaves[small.node('n02121620')!]), [1, 2]);
  const { values } = scoreNodes(small, [0.1, 0.2, 0.3, 0.4], 'sum');
  assert.ok(Math.abs(values[small.root] - 1) < 1e-6);
  assert.ok(Math.abs(values[small.node('n02121620')!] - 0.5) < 1e-6);
  assert.throws(() => mapLabelSet(h.wordnet, 'bad', ['dog', 'qwxzzy']), /qwxzzy/);
});

test('topLabels returns the k best indexes, best first', () => {
  fc.assert(
    fc.property(fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 200 }), fc.integer({ min: 1, max: 10 }), (xs, k) => {
      const got = topLabels(xs, k);
      const want = Array.from(xs.keys()).sort((a, b) => xs[b] - xs[a] || a - b).slice(0, k);
      assert.deepEqual(got.map((i) => xs[i]), want.map((i) => xs[i]));
    }),
  );
});
