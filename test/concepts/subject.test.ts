// The subject (consumer category) head and the tags the product outputs: softmax regression, the subject
// choice (head + concept margins, detection deciding people), people tags from detection, subject head files.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { centreAndNormalise } from '../../src/concepts/features.js';
import { readEverydaySubjects, readEverydayVocabulary, subjectOfTags } from '../../src/concepts/everyday.js';
import { Head, HeadError } from '../../src/concepts/head.js';
import { predictSoftmax, trainSoftmax } from '../../src/concepts/logistic.js';
import { chooseSubject } from '../../src/concepts/subject.js';
import { photoSubject } from '../../src/concepts/tags.js';
import { withPeopleTags } from '../../src/taxonomy/people.js';

const MODEL = { id: 'mobilenetv2-12-int8', sha256: 'cc028fe6cae7bc11a4ff53cfc9b79c920e8be65ce33a904ec3e2a8f66d77f95f' };

/** n unit vectors around `classes` centres (one axis each); label = the centre. */
function clusters(n: number, dim: number, classes: number, seed: number): { x: Float32Array; y: Float32Array; label: number[] } {
  let s = seed >>> 0;
  const rand = (): number => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
  const x = new Float32Array(n * dim);
  const y = new Float32Array(n * classes);
  const label: number[] = [];
  for (let i = 0; i < n; i++) {
    const c = i % classes;
    label.push(c);
    y[i * classes + c] = 1;
    for (let f = 0; f < dim; f++) x[i * dim + f] = (f === c ? 1 : 0) + 0.25 * rand();
    centreAndNormalise(x.subarray(i * dim, (i + 1) * dim), new Float32Array(dim), x, i * dim);
  }
  return { x, y, label };
}

const argmax = (a: ArrayLike<number>, at: number, k: number): number => {
  let b = 0;
  for (let j = 1; j < k; j++) if (a[at + j] > a[at + b]) b = j;
  return b;
};

describe('softmax regression', () => {
  it('learns separable classes; probabilities sum to 1; deterministic bit for bit', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1000 }), fc.integer({ min: 2, max: 5 }), (seed, classes) => {
        const n = 10 * classes;
        const dim = 8;
        const { x, y, label } = clusters(n, dim, classes, seed);
        const w = new Float32Array(n).fill(1);
        const a = trainSoftmax(x, y, w, n, dim, classes, { iterations: 80 });
        const b = trainSoftmax(x, y, w, n, dim, classes, { iterations: 80 });
        assert.deepEqual(a.model.weights, b.model.weights);
        const p = predictSoftmax(a.model, x, n);
        for (let i = 0; i < n; i++) {
          let sum = 0;
          for (let j = 0; j < classes; j++) sum += p[i * classes + j];
          assert.ok(Math.abs(sum - 1) < 1e-5);
          assert.equal(argmax(p, i * classes, classes), label[i], `example ${i}`);
        }
        assert.ok(a.curve.train[a.curve.train.length - 1] < a.curve.train[0]);
      }),
      { numRuns: 15 },
    );
  });

  it('ignores examples of weight 0 (unknown subject)', () => {
    const { x, y } = clusters(20, 6, 2, 3);
    const w = new Float32Array(20).fill(1);
    const noisy = new Float32Array(x.length + 6).fill(0);
    noisy.set(x);
    noisy.set([1, 0, 0, 0, 0, 0], x.length); // looks like class 0 ...
    const ny = new Float32Array(y.length + 2);
    ny.set(y);
    ny.set([0, 1], y.length); // ... labelled class 1, but unknown (weight 0)
    const a = trainSoftmax(x, y, w, 20, 6, 2, { iterations: 50 });
    const b = trainSoftmax(noisy, ny, Float32Array.from([...w, 0]), 21, 6, 2, { iterations: 50 });
    for (let i = 0; i < a.model.weights.length; i++) assert.ok(Math.abs(a.model.weights[i] - b.model.weights[i]) < 1e-6);
  });
});

describe('the subject of a photo', () => {
  const subjects = ['people', 'animals', 'landscapes & nature'];
  const concepts = [
    { subject: 'people', threshold: 0.5 },
    { subject: 'animals', threshold: 0.5 },
    { subject: 'landscapes & nature', threshold: 0.5 },
  ];

  it('follows the subject head when the concepts are undecided', () => {
    assert.equal(chooseSubject(subjects, [0.2, 0.7, 0.1], concepts, [0.5, 0.5, 0.5]).id, 'animals');
  });

  it('a concept far above its threshold can outweigh a small lead of the head', () => {
    // log 0.45 - log 0.55 = -0.2; 0.5 x (logit 0.95 - logit 0.5) = 1.47 for landscapes.
    assert.equal(chooseSubject(subjects, [0.0, 0.55, 0.45], concepts, [0.01, 0.5, 0.95]).id, 'landscapes & nature');
  });

  it('detected people decide people; detection finding none keeps it away', () => {
    assert.equal(chooseSubject(subjects, [0.05, 0.9, 0.05], concepts, [0.1, 0.9, 0.1], true).id, 'people');
    assert.equal(chooseSubject(subjects, [0.6, 0.3, 0.1], concepts, [0.6, 0.5, 0.5], false).id, 'animals');
    // Without detection the head's person concept counts.
    assert.equal(chooseSubject(subjects, [0.6, 0.3, 0.1], concepts, [0.6, 0.5, 0.5]).id, 'people');
  });

  it('is always one of the subjects', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 6, maxLength: 6 }), fc.option(fc.boolean(), { nil: undefined }), (v, people) => {
        const got = chooseSubject(subjects, v.slice(0, 3), concepts, v.slice(3), people);
        assert.ok(subjects.includes(got.id));
      }),
    );
  });

  it('a hand-tagged photo takes the first subject (in the vocabulary order) of its tags', () => {
    const vocabulary = readEverydayVocabulary();
    const order = readEverydaySubjects();
    const tagged = (...ids: string[]) => subjectOfTags(order, vocabulary, (j) => ids.includes(vocabulary[j].id));
    assert.equal(tagged('vehicle', 'sky'), 'vehicles & transport');
    assert.equal(tagged('person', 'dog', 'field'), 'people');
    assert.equal(tagged('mountain', 'snow'), 'landscapes & nature');
    assert.equal(tagged('building', 'water'), 'buildings & urban');
    assert.equal(tagged(), null);
  });
});

describe('a head with a subject head', () => {
  const dim = 4;
  const subjectHead = { ids: ['animals', 'people'], linear: { dim, outputs: 2, weights: Float32Array.from([3, -3, 0, 0, 0, 0, 0, 0]), bias: Float32Array.from([0, 0]) } };
  const head = new Head(
    'everyday',
    MODEL,
    [{ id: 'dog', name: 'Dog', wnid: 'n02084071', threshold: 0.5, subject: 'animals' }],
    new Float32Array(dim),
    { dim, outputs: 1, weights: Float32Array.from([2, 0, 0, 0]), bias: Float32Array.from([0]) },
    {},
    subjectHead,
  );

  it('survives its file format and scores subjects', () => {
    const back = Head.fromFile(JSON.parse(JSON.stringify(head.toFile())));
    const e = Float32Array.from([1, 0, 0, 0]);
    assert.deepEqual(back.subjectScores(e, MODEL), head.subjectScores(e, MODEL));
    assert.equal(photoSubject(back, e, MODEL)?.id, 'animals');
    assert.equal(photoSubject(back, e, MODEL, true)?.id, 'people');
  });

  it("refuses another model's embeddings", () => {
    assert.throws(() => head.subjectScores(new Float32Array(dim).fill(0.5), { ...MODEL, sha256: 'x'.repeat(64) }), (e: unknown) => e instanceof HeadError && e.code === 'wrong_model');
  });

  it('refuses a subject head of the wrong size', () => {
    const file = head.toFile();
    assert.throws(() => Head.fromFile({ ...file, subjects: { ...file.subjects!, bias: [0] } }), (e: unknown) => e instanceof HeadError && e.code === 'bad_head');
  });
});

describe('tags as output', () => {
  it('person, group and portrait come from detection; other tags stay, best first', () => {
    const tags = [
      { id: 'beach', name: 'Beach', score: 0.8 },
      { id: 'person', name: 'Person', score: 0.7 },
      { id: 'alice/bike', name: 'bike', score: 0.6 },
    ];
    assert.deepEqual(withPeopleTags(tags, { tags: [] }), [tags[0], tags[2]]);
    assert.deepEqual(
      withPeopleTags(tags, { tags: [{ id: 'person', score: 0.95 }, { id: 'group', score: 0.95 }] }).map((t) => `${t.id}:${t.name}:${t.score}`),
      ['group:Group:0.95', 'person:Person:0.95', 'beach:Beach:0.8', 'alice/bike:bike:0.6'],
    );
  });
});

describe('teaching: early stopping', () => {
  it('the final fit stops at the lowest held-out loss (at least 20 steps)', async () => {
    const { bestStep, teachHead } = await import('../../src/concepts/teach.js');
    assert.equal(bestStep({ step: [0, 10, 20, 30, 40], train: [1, 0.5, 0.3, 0.2, 0.1], validation: [1, 0.2, 0.4, 0.3, 0.35] }), 30);
    assert.equal(bestStep({ step: [0, 10, 20, 30], train: [1, 1, 1, 1], validation: [] }), 100);
    assert.equal(bestStep({ step: [0, 10], train: [1, 0.5], validation: [1, 0.5] }), 100);
    const { x } = clusters(60, 8, 2, 5);
    const rows = Array.from({ length: 60 }, (_, i) => x.slice(i * 8, (i + 1) * 8));
    const positives = rows.filter((_, i) => i % 2 === 0);
    const negatives = rows.filter((_, i) => i % 2 === 1);
    const { report } = teachHead({ id: 'a/b', name: 'b', wnid: 'n00001740' }, MODEL, positives, negatives);
    assert.equal(report.steps, bestStep(report.curve));
    assert.ok(report.steps! >= 20 && report.steps! <= 100);
  });
});
