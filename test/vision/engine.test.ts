// The inference engine with the real models from the mirror: accuracy on the labelled calibration set,
// probabilities, embeddings, batching, top-k, micro-batching and execution-provider errors.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { MicroBatcher, QueueFullError } from '../../src/vision/batcher.js';
import { decodePhoto } from '../../src/vision/decode.js';
import { Engine, EngineError, graphName, softmaxInPlace, topK } from '../../src/vision/engine.js';
import { imagenetLabels } from '../../src/vision/labels.js';
import { classifyFiles } from '../../src/vision/pipeline.js';
import { tempHome } from '../support/env.js';
import { calibSet } from './fixtures.js';

const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, x, i) => s + x * b[i], 0);
const norm = (a: Float32Array) => Math.sqrt(dot(a, a));

describe('pure helpers', () => {
  test('graph names: the manifest name when present, else the graph’s only tensor, else none', () => {
    assert.equal(graphName('data_0', ['data_0']), 'data_0');
    assert.equal(graphName('data_0', ['input']), 'input');
    assert.equal(graphName('prob_0', ['prob_0', 'pictograph_embedding']), 'prob_0');
    assert.equal(graphName('prob_0', ['a', 'b']), undefined);
    assert.equal(graphName('prob_0', []), undefined);
  });

  test('softmax is a probability distribution preserving order', () => {
    fc.assert(
      fc.property(fc.array(fc.float({ min: -50, max: 50, noNaN: true }), { minLength: 1, maxLength: 50 }), (xs) => {
        const p = softmaxInPlace(Float32Array.from(xs));
        assert.ok(Math.abs(p.reduce((a, b) => a + b, 0) - 1) < 1e-4);
        for (let i = 0; i < xs.length; i++) for (let j = 0; j < xs.length; j++) if (xs[i] > xs[j] + 1e-3) assert.ok(p[i] >= p[j]);
      }),
    );
  });

  test('topK returns the k largest, best first, with wnid/index/name', () => {
    const labels = imagenetLabels();
    fc.assert(
      fc.property(fc.array(fc.float({ min: 0, max: 1, noNaN: true }), { minLength: 1000, maxLength: 1000 }), fc.integer({ min: 1, max: 20 }), (xs, k) => {
        const probs = Float32Array.from(xs);
        const got = topK(probs, labels, k);
        const want = [...probs].map((s, i) => ({ s, i })).sort((a, b) => b.s - a.s || a.i - b.i).slice(0, k);
        assert.deepEqual(got.map((l) => l.score), want.map((w) => w.s));
        for (const l of got) assert.deepEqual([l.wnid, l.name], [labels[l.index].wnid, labels[l.index].name]);
      }),
      { numRuns: 30 },
    );
  });
});

describe('engine (mobilenetv2-12-int8)', () => {
  const home = tempHome('pictograph-engine-');
  let engine: Engine;
  const calib = calibSet();
  let tensors: Float32Array[];

  before(async () => {
    engine = await Engine.load({ env: home.env });
    tensors = await Promise.all(calib.slice(0, 8).map(async (c) => (await decodePhoto(c.file, engine.model.spec)).tensor));
  });
  after(async () => {
    await engine.close();
    home.cleanup();
  });

  test('names its model and label set', () => {
    assert.equal(engine.model.id, 'mobilenetv2-12-int8');
    assert.equal(engine.model.sha256, 'cc028fe6cae7bc11a4ff53cfc9b79c920e8be65ce33a904ec3e2a8f66d77f95f');
    assert.equal(engine.labels.length, 1000);
    assert.deepEqual(engine.labels[0], { wnid: 'n01440764', index: 0, name: 'tench' });
    assert.ok(engine.hasFeatureEmbedding, 'the pooled features are exposed as the embedding');
  });

  test('top-1 >= 80% and top-5 >= 94% on the 500 labelled calibration photos (zoo preprocessing)', async () => {
    const truth = new Map(calib.map((c) => [c.file, c.wnid]));
    let n = 0;
    let top1 = 0;
    let top5 = 0;
    for await (const item of classifyFiles([...truth.keys()], { engine })) {
      assert.ok(!('error' in item), `classified ${item.file}`);
      const labels = engine.topK(item.prediction.probs, 5).map((l) => l.wnid);
      n++;
      if (labels[0] === truth.get(item.file)) top1++;
      if (labels.includes(truth.get(item.file)!)) top5++;
    }
    assert.equal(n, 500);
    console.log(`calibration accuracy: top-1 ${(top1 / n).toFixed(3)}, top-5 ${(top5 / n).toFixed(3)}`);
    assert.ok(top1 / n >= 0.8, `top-1 ${top1 / n}`);
    assert.ok(top5 / n >= 0.94, `top-5 ${top5 / n}`);
  });

  test('probabilities sum to 1; the embedding is unit length, 1280-d, and deterministic', async () => {
    const [a, b] = await engine.run(tensors.slice(0, 2));
    for (const p of [a, b]) {
      assert.equal(p.probs.length, 1000);
      assert.ok(Math.abs(p.probs.reduce((s, x) => s + x, 0) - 1) < 1e-4);
      assert.equal(p.embedding.length, 1280);
      assert.ok(Math.abs(norm(p.embedding) - 1) < 1e-4);
      assert.deepEqual(p.model, { id: engine.model.id, sha256: engine.model.sha256 });
    }
    const [again] = await engine.run([tensors[0]]);
    assert.ok(dot(again.embedding, a.embedding) > 0.9999);
    assert.ok(dot(a.embedding, b.embedding) < 0.95, 'different photos, different embeddings');
  });

  test('a batch gives the same answers as single runs, and leaves the inputs intact', async () => {
    const copy = tensors.map((t) => t.slice());
    const batch = await engine.run(tensors);
    assert.deepEqual(tensors, copy);
    for (let i = 0; i < tensors.length; i++) {
      const [one] = await engine.run([tensors[i]]);
      assert.equal(engine.topK(one.probs, 1)[0].index, engine.topK(batch[i].probs, 1)[0].index);
      assert.ok(Math.max(...one.probs.map((x, j) => Math.abs(x - batch[i].probs[j]))) < 1e-3);
    }
    assert.deepEqual(await engine.run([]), []);
    await assert.rejects(engine.run([new Float32Array(10)]), EngineError);
  });

  test('the micro-batcher groups concurrent submissions and sheds load when full', async () => {
    const batcher = new MicroBatcher(engine, { maxBatch: 4, maxWaitMs: 50, maxQueue: 4 });
    // 4 fill a batch and start running; 4 more wait; the last 2 find the queue full.
    const inputs = [...tensors, tensors[0], tensors[1]];
    const results = await Promise.all(inputs.map((t) => batcher.submit(t).catch((e: unknown) => e)));
    const full = results.filter((r) => r instanceof QueueFullError);
    assert.equal(full.length, 2, 'two over the queue bound');
    assert.ok(results.slice(8).every((r) => r instanceof QueueFullError));
    assert.equal((full[0] as QueueFullError).code, 'queue_full');
    const stats = batcher.stats;
    assert.equal(stats.images, 8);
    assert.deepEqual(stats.batchSizes, { 4: 2 });
    assert.equal(stats.rejected, 2);
    await batcher.drain();
    assert.equal(batcher.stats.queueDepth, 0);
    const direct = await engine.run(tensors.slice(0, 1));
    assert.equal(engine.topK((results[0] as { probs: Float32Array }).probs, 1)[0].index, engine.topK(direct[0].probs, 1)[0].index);
  });

  test('asking for CUDA where it is not installed fails clearly', async () => {
    await assert.rejects(Engine.load({ env: home.env, executionProviders: ['cuda'] }), (err: unknown) => {
      assert.ok(err instanceof EngineError);
      assert.match(err.message, /execution provider "cuda" is not available/);
      return true;
    });
  });
});

describe('engine (shufflenet-v2-12-qdq, fixed batch of 1)', () => {
  test('runs several photos one session.run at a time, with a 1024-d embedding', async () => {
    const home = tempHome('pictograph-engine-');
    const engine = await Engine.load({ env: home.env, modelId: 'shufflenet-v2-12-qdq', threads: 1 });
    try {
      const calib = calibSet().slice(0, 3);
      const tensors = await Promise.all(calib.map(async (c) => (await decodePhoto(c.file, engine.model.spec)).tensor));
      const preds = await engine.run(tensors);
      assert.equal(preds.length, 3);
      assert.equal(engine.counters.runs, 3);
      for (const [i, p] of preds.entries()) {
        assert.equal(p.embedding.length, 1024);
        assert.ok(engine.topK(p.probs, 5).some((l) => l.wnid === calib[i].wnid), `${calib[i].file} in top 5`);
      }
    } finally {
      await engine.close();
      home.cleanup();
    }
  });
});
