// Incremental face clustering (pure): well-separated identities come out as one person each whatever the
// arrival order; rejections and named people steer assignment; pairwise scores are what they say.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { choosePerson, clusterIncrementally, pairwiseScores } from '../../src/library/face-clusters.js';

function unit(v: number[]): Float32Array {
  const n = Math.hypot(...v) || 1;
  return Float32Array.from(v, (x) => x / n);
}
// Identity i = the i-th axis; its faces lean slightly toward another axis.
const DIM = 8;
function faceOf(i: number, jitter: number, toward: number): Float32Array {
  const v = new Array(DIM).fill(0);
  v[i] = 1;
  v[toward] += jitter;
  return unit(v);
}

test('separated identities cluster exactly, in any arrival order', () => {
  fc.assert(
    fc.property(
      fc.array(fc.record({ who: fc.integer({ min: 0, max: 4 }), jitter: fc.double({ min: 0, max: 0.3, noNaN: true }), toward: fc.integer({ min: 5, max: 7 }) }), { minLength: 1, maxLength: 40 }),
      (faces) => {
        const got = clusterIncrementally(faces.map((f, i) => ({ faceId: i, embedding: faceOf(f.who, f.jitter, f.toward) })), []);
        const s = pairwiseScores(faces.map((_, i) => got.get(i)!), faces.map((f) => String(f.who)));
        assert.equal(s.precision, 1);
        assert.equal(s.recall, 1);
      },
    ),
  );
});

test('a rejected person is never chosen; named people win close calls', () => {
  const a = faceOf(0, 0, 5);
  const people = [
    { personId: 1, named: false, embeddings: [a] },
    { personId: 2, named: false, embeddings: [faceOf(1, 0, 5)] },
  ];
  assert.equal(choosePerson(a, people), 1);
  assert.equal(choosePerson(a, people, new Set([1])), null);
  // A face just under the bar joins a named person, not an unnamed one.
  const rules = { threshold: 0.8, namedBonus: 0.05, k: 1 };
  const e = unit([0.78, Math.sqrt(1 - 0.78 ** 2), 0, 0, 0, 0, 0, 0]);
  assert.equal(choosePerson(e, [{ personId: 3, named: false, embeddings: [unit([1, 0, 0, 0, 0, 0, 0, 0])] }], new Set(), rules), null);
  assert.equal(choosePerson(e, [{ personId: 3, named: true, embeddings: [unit([1, 0, 0, 0, 0, 0, 0, 0])] }], new Set(), rules), 3);
});

test('pairwise precision and recall', () => {
  assert.deepEqual(pairwiseScores([1, 1, 2, 2], ['a', 'a', 'b', 'b']), { precision: 1, recall: 1, pairs: 2 });
  // Everyone in one cluster: recall 1, precision = same-identity pairs / all pairs.
  assert.deepEqual(pairwiseScores([1, 1, 1, 1], ['a', 'a', 'b', 'b']), { precision: 2 / 6, recall: 1, pairs: 6 });
  assert.deepEqual(pairwiseScores([1, 2, 3, 4], ['a', 'a', 'b', 'b']), { precision: 1, recall: 0, pairs: 2 });
});
