// Property and unit tests of the head math: logistic regression, thresholds, folds, head files and model binding.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { centreAndNormalise, meanVector } from '../../src/concepts/features.js';
import { Head, HeadError, readHead, writeHead } from '../../src/concepts/head.js';
import { balancedWeights, predict, sigmoid, trainDual, trainLogistic, trainPrimal } from '../../src/concepts/logistic.js';
import { assignFolds, chooseThreshold, countAt, quality, shrunkThresholds } from '../../src/concepts/metrics.js';
import { buildMemory, memoryVotes, type MemorySettings } from '../../src/concepts/memory.js';
import { fit } from '../../src/concepts/train.js';
import { tagEmbedding } from '../../src/concepts/tags.js';

const MODEL = { id: 'mobilenetv2-12-int8', sha256: 'cc028fe6cae7bc11a4ff53cfc9b79c920e8be65ce33a904ec3e2a8f66d77f95f' };

/** n unit vectors in `dim` dimensions around two class centres; label = which centre. */
function twoClusters(n: number, dim: number, seed: number, spread = 0.3): { x: Float32Array; y: Float32Array } {
  let s = seed >>> 0;
  const rand = (): number => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
  const x = new Float32Array(n * dim);
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = i % 2;
    for (let f = 0; f < dim; f++) x[i * dim + f] = (f === 0 ? (y[i] ? 1 : -1) : 0) + spread * rand();
    centreAndNormalise(x.subarray(i * dim, (i + 1) * dim), new Float32Array(dim), x, i * dim);
  }
  return { x, y };
}

describe('logistic regression', () => {
  it('sigmoid is bounded, monotone and symmetric', () => {
    fc.assert(
      fc.property(fc.double({ min: -50, max: 50, noNaN: true }), fc.double({ min: 0, max: 10, noNaN: true }), (z, d) => {
        const p = sigmoid(z);
        assert.ok(p >= 0 && p <= 1);
        assert.ok(sigmoid(z + d) >= p);
        assert.ok(Math.abs(sigmoid(-z) - (1 - p)) < 1e-12);
      }),
    );
  });

  it('learns separable clusters, and its training loss falls', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1000 }), (seed) => {
        const n = 40;
        const dim = 8;
        const { x, y } = twoClusters(n, dim, seed);
        const w = balancedWeights(y, new Uint8Array(n).fill(1), n, 1);
        const { model, curve } = trainLogistic(x, y, w, n, dim, 1, { iterations: 60, l2: 1e-3 });
        const p = predict(model, x, n);
        for (let i = 0; i < n; i++) assert.equal(p[i] >= 0.5, y[i] === 1, `example ${i}: ${p[i]}`);
        assert.ok(curve.train[curve.train.length - 1] < curve.train[0]);
      }),
      { numRuns: 20 },
    );
  });

  it('is deterministic: the same data gives the same weights bit for bit', () => {
    const n = 30;
    const dim = 16;
    const { x, y } = twoClusters(n, dim, 7);
    const w = balancedWeights(y, new Uint8Array(n).fill(1), n, 1);
    const a = trainLogistic(x, y, w, n, dim, 1, { iterations: 40 });
    const b = trainLogistic(x, y, w, n, dim, 1, { iterations: 40 });
    assert.deepEqual(Buffer.from(a.model.weights.buffer), Buffer.from(b.model.weights.buffer));
    assert.deepEqual(a.model.bias, b.model.bias);
  });

  it('the Gram (dual) and primal forms give the same head', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1000 }), fc.integer({ min: 4, max: 30 }), (seed, n) => {
        const dim = 6;
        const { x, y } = twoClusters(n, dim, seed, 1);
        const w = balancedWeights(y, new Uint8Array(n).fill(1), n, 1);
        const a = trainDual(x, y, w, n, dim, 1, { iterations: 30 }).model;
        const b = trainPrimal(x, y, w, n, dim, 1, { iterations: 30 }).model;
        for (let f = 0; f < dim; f++) assert.ok(Math.abs(a.weights[f] - b.weights[f]) < 1e-4, `${a.weights[f]} vs ${b.weights[f]}`);
        assert.ok(Math.abs(a.bias[0] - b.bias[0]) < 1e-4);
      }),
      { numRuns: 30 },
    );
  });

  it('ignores unknown labels (weight 0) and balances classes per output', () => {
    const y = Float32Array.from([1, 0, 0, 0, 1, 1]);
    const known = Uint8Array.from([1, 1, 1, 1, 1, 0]);
    const w = balancedWeights(y, known, 3, 2);
    // output 0: rows 0 (pos), 1 (neg), 2 (pos) -> positives share 0.5, the negative gets 0.5
    assert.deepEqual(Array.from(w.filter((_, i) => i % 2 === 0)), [0.25, 0.5, 0.25]);
    // output 1: rows 0 (neg), 1 (neg), 2 unknown
    assert.deepEqual(Array.from(w.filter((_, i) => i % 2 === 1)), [0.5, 0.5, 0]);
  });
});

describe('thresholds', () => {
  const arb = fc.array(fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.boolean()), { minLength: 1, maxLength: 60 });
  it('chooseThreshold reaches the best F1 over every cut', () => {
    fc.assert(
      fc.property(arb, (pairs) => {
        const s = pairs.map((p) => p[0]);
        const t = pairs.map((p) => p[1]);
        const got = quality(countAt(s, t, chooseThreshold(s, t))).f1;
        let best = 0;
        for (const cut of [...s, 2]) best = Math.max(best, quality(countAt(s, t, cut)).f1);
        assert.ok(Math.abs(got - best) < 1e-12, `${got} vs ${best}`);
      }),
      { numRuns: 300 },
    );
  });

  it('shrunk thresholds lie between the global and the own threshold', () => {
    fc.assert(
      fc.property(fc.array(arb, { minLength: 1, maxLength: 5 }), fc.integer({ min: 1, max: 100 }), (cols, prior) => {
        const columns = cols.map((pairs) => ({ scores: pairs.map((p) => p[0]), truth: pairs.map((p) => p[1]) }));
        const { thresholds, global } = shrunkThresholds(columns, prior);
        columns.forEach((c, j) => {
          if (!c.truth.some(Boolean)) return;
          const own = chooseThreshold(c.scores, c.truth, global);
          assert.ok(thresholds[j] >= Math.min(own, global) - 1e-12 && thresholds[j] <= Math.max(own, global) + 1e-12);
        });
      }),
    );
  });

  it('folds are a seeded, balanced partition', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 200 }), fc.integer({ min: 2, max: 10 }), fc.integer(), (n, k, seed) => {
        const a = assignFolds(n, k, seed);
        assert.deepEqual(a, assignFolds(n, k, seed));
        const sizes = Array.from({ length: k }, (_, f) => a.filter((x) => x === f).length);
        assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1);
      }),
    );
  });
});

describe('example memory', () => {
  it('votes are the similarity-weighted share of the k nearest examples whose label is known', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1000 }), fc.integer({ min: 1, max: 7 }), (seed, k) => {
        const n = 16;
        const dim = 5;
        const { x, y } = twoClusters(n, dim, seed);
        // concept 0: the cluster; concept 1: unknown on every other example
        const labels = new Float32Array(n * 2);
        const known = new Uint8Array(n * 2);
        for (let i = 0; i < n; i++) {
          labels[i * 2] = y[i]!;
          known[i * 2] = 1;
          labels[i * 2 + 1] = 1;
          known[i * 2 + 1] = i % 2;
        }
        const memory = buildMemory(x, labels, known, n, dim, 2, { k, temperature: 10, blend: 0.5 });
        for (let i = 0; i < n; i++) {
          const votes = memoryVotes(memory, x.subarray(i * dim, (i + 1) * dim));
          assert.ok(votes[0]! >= 0 && votes[0]! <= 1);
          // only examples labelled yes vote on concept 1 (the others are unknown): a unanimous yes
          assert.ok(Math.abs(votes[1]! - 1) < 1e-9);
          // k = 1: the example itself (the most similar) decides
          if (k === 1) assert.equal(votes[0], y[i]);
        }
      }),
      { numRuns: 30 },
    );
  });

  it('votes as a plain scan over every example would (the SIMD search changes nothing but the speed)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1000 }), fc.integer({ min: 1, max: 9 }), (seed, k) => {
        const n = 40;
        const dim = 24;
        let state = seed;
        const rnd = (): number => ((state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) - 0.5;
        const x = new Float32Array(n * dim).map(rnd);
        const labels = new Float32Array(n * 3).map(() => (rnd() > 0 ? 1 : 0));
        const known = new Uint8Array(n * 3).map(() => (rnd() > -0.3 ? 1 : 0));
        const memory = buildMemory(x, labels, known, n, dim, 3, { k, temperature: 0.05, blend: 0.5 });
        const query = new Float32Array(dim).map(rnd);
        // the reference: float64 dot products over the stored rows, a full sort, the first k known voters
        const sim = Array.from({ length: memory.n }, (_, r) => {
          let s = 0;
          for (let f = 0; f < dim; f++) s += memory.vectors[r * dim + f]! * memory.scales[r]! * query[f]!;
          return s;
        });
        const order = sim.map((_, r) => r).sort((a, b) => sim[b]! - sim[a]! || a - b);
        const votes = memoryVotes(memory, query);
        for (let j = 0; j < 3; j++) {
          let yes = 0;
          let all = 0;
          let counted = 0;
          for (const r of order) {
            if (memory.known[r * 3 + j] !== 1) continue;
            const w = Math.exp((sim[r]! - sim[order[0]!]!) / 0.05);
            all += w;
            if (memory.y[r * 3 + j] === 1) yes += w;
            if (++counted >= k) break;
          }
          assert.ok(Math.abs(votes[j]! - (all > 0 ? yes / all : 0)) < 1e-4, `concept ${j}: ${votes[j]} against ${yes / all}`);
        }
      }),
      { numRuns: 50 },
    );
  });

  it('votes the same when its rows are a view into a larger buffer (as a head read from disk holds them)', () => {
    const { x, y } = twoClusters(12, 6, 7);
    const memory = buildMemory(x, y, new Uint8Array(12).fill(1), 12, 6, 1, { k: 3, temperature: 0.1, blend: 0.5 });
    const padded = new Int8Array(memory.vectors.length + 16);
    padded.set(memory.vectors, 8);
    const viewed = { ...memory, vectors: padded.subarray(8, 8 + memory.vectors.length) };
    for (let i = 0; i < 12; i++) {
      const q = x.subarray(i * 6, (i + 1) * 6);
      assert.deepEqual(Array.from(memoryVotes(viewed, q)), Array.from(memoryVotes(memory, q)));
    }
  });

  it('leaves out examples without any known label', () => {
    const memory = buildMemory(new Float32Array([1, 0, 0, 1]), [1, 0], [1, 0], 2, 2, 1, { k: 5, temperature: 0.1, blend: 0.5 });
    assert.equal(memory.n, 1);
    assert.deepEqual(Array.from(memoryVotes(memory, [0, 1])), [1]);
  });
});

describe('heads', () => {
  function smallHead(memory?: MemorySettings): Head {
    const n = 20;
    const dim = 6;
    const { x, y } = twoClusters(n, dim, 3);
    const embeddings = Array.from({ length: n }, (_, i) => x.slice(i * dim, (i + 1) * dim));
    const f = fit({ embeddings, y, known: new Uint8Array(n).fill(1), k: 1 }, { l2: 1e-3, iterations: 50, folds: 2, seed: 1, ...(memory ? { memory } : {}) });
    return new Head('everyday', MODEL, [{ id: 'right', name: 'Right', wnid: 'n00000001', threshold: 0.5 }], f.mean, f.linear, {}, undefined, f.memory);
  }

  it('with an example memory: scores blend the logistic probability with the neighbours\' vote, and survive the file', async () => {
    const plain = smallHead();
    const blended = smallHead({ k: 3, temperature: 0.05, blend: 0.5 });
    assert.equal(blended.memory?.n, 20);
    const dir = mkdtempSync(join(tmpdir(), 'pictograph-head-'));
    try {
      await writeHead(join(dir, 'h.json'), blended);
      const back = await readHead(join(dir, 'h.json'));
      fc.assert(
        fc.property(fc.array(fc.double({ min: -1, max: 1, noNaN: true }), { minLength: 6, maxLength: 6 }), (v) => {
          const e = Float32Array.from(v);
          const [p] = plain.score(e, MODEL);
          const [b] = blended.score(e, MODEL);
          // the vote is a share of neighbours: the blend lies within half a unit of the logistic probability
          assert.ok(b! >= 0.5 * p! - 1e-6 && b! <= 0.5 * p! + 0.5 + 1e-6, `${b} from ${p}`);
          assert.deepEqual(back.score(e, MODEL), blended.score(e, MODEL));
          // the logistic head alone (people cues) is the head without a memory
          assert.deepEqual(blended.logisticScore(e, MODEL), plain.score(e, MODEL));
        }),
        { numRuns: 50 },
      );
      // a photo just like the examples of one class gets that class's full vote
      assert.ok(blended.score(Float32Array.from([1, 0, 0, 0, 0, 0]), MODEL)[0]! > 0.95);
      assert.ok(blended.score(Float32Array.from([-1, 0, 0, 0, 0, 0]), MODEL)[0]! < 0.05);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses embeddings of another model (id or sha256)', () => {
    const head = smallHead();
    const e = new Float32Array(6).fill(0.1);
    assert.equal(head.score(e, MODEL).length, 1);
    assert.throws(() => head.score(e, { id: 'shufflenet-v2-12-qdq', sha256: MODEL.sha256 }), (err: unknown) => err instanceof HeadError && err.code === 'wrong_model');
    assert.throws(() => head.score(e, { id: MODEL.id, sha256: '0'.repeat(64) }), (err: unknown) => err instanceof HeadError && err.code === 'wrong_model');
    assert.throws(() => tagEmbedding([head], e, { id: 'other', sha256: 'x' }), /cannot score embeddings of other/);
    assert.throws(() => head.score(new Float32Array(5), MODEL), (err: unknown) => err instanceof HeadError && err.code === 'bad_embedding');
  });

  it('round-trips through its versioned file and scores the same', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pictograph-head-'));
    try {
      const head = smallHead();
      await writeHead(join(dir, 'h.json'), head, '2026-01-01T00:00:00.000Z');
      const back = await readHead(join(dir, 'h.json'));
      assert.deepEqual(back.model, MODEL);
      const e = Float32Array.from([0.9, 0.1, 0, 0, 0.1, 0]);
      assert.deepEqual(back.score(e, MODEL), head.score(e, MODEL));
      const tags = tagEmbedding([back], e, MODEL);
      assert.deepEqual(tags.map((t) => t.id), ['right']);
      assert.equal(tagEmbedding([back], Float32Array.from([-0.9, 0.1, 0, 0, 0.1, 0]), MODEL).length, 0);
      assert.equal(tagEmbedding([back], Float32Array.from([-0.9, 0.1, 0, 0, 0.1, 0]), MODEL, { all: true }).length, 1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses files of another format or version', () => {
    const file = smallHead().toFile();
    assert.throws(() => Head.fromFile({ ...file, version: 3 as 1 }), /version 3 is not supported/);
    // version 1 (before the example memory) still loads
    assert.equal(Head.fromFile({ ...file, version: 1 }).memory, undefined);
    assert.throws(() => Head.fromFile({ ...file, format: 'x' as 'pictograph-head' }), /not a pictograph head/);
    assert.throws(() => Head.fromFile({ ...file, bias: [] }), /sizes/);
  });

  it('centring then normalising gives unit vectors orthogonal-ish to the mean', () => {
    fc.assert(
      fc.property(fc.array(fc.array(fc.double({ min: -1, max: 1, noNaN: true }), { minLength: 4, maxLength: 4 }), { minLength: 2, maxLength: 10 }), (rows) => {
        const x = Float32Array.from(rows.flat());
        const mean = meanVector(x, rows.length, 4);
        for (let i = 0; i < rows.length; i++) {
          const v = centreAndNormalise(x.subarray(i * 4, i * 4 + 4), mean);
          const norm = Math.hypot(...v);
          assert.ok(norm === 0 || Math.abs(norm - 1) < 1e-5);
        }
      }),
    );
  });
});
