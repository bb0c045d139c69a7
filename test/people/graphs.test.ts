// The detectors' graph rewrites (src/vision/faces/graphs.ts) on the real models from @vladmandic/human, run on the
// wasm backend as in the detector: FaceRes with its batch-norm + ReLU6 blocks fused computes the same descriptor
// on a real photo, and CenterNet rewritten to a 384 px input still finds the people in real photos.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { before, test } from 'node:test';
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs-core';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { loadGraphModel, type GraphModel } from '@tensorflow/tfjs-converter';
import { centerNetPersonsOnly, fuseRelu6Blocks, readModelArtifacts, resizeCenterNet, type GraphParts } from '../../src/vision/faces/graphs.js';
import { photosDir } from '../support/env.js';

const require = createRequire(import.meta.url);
const models = join(dirname(require.resolve('@vladmandic/human')), '..', 'models');

before(async () => {
  setWasmPaths(dirname(require.resolve('@tensorflow/tfjs-backend-wasm')) + '/');
  await tf.setBackend('wasm');
  await tf.ready();
});

async function load(file: string, rewrite?: (p: GraphParts) => GraphParts): Promise<GraphModel> {
  const artifacts = await readModelArtifacts(tf as never, join(models, file), rewrite);
  return loadGraphModel({ load: async () => artifacts as unknown as tf.io.ModelArtifacts });
}

/** A photo as a float tensor [1, side, side, 3] of pixel values over `range` (255: as stored). */
async function input(file: string, side: number, range = 255): Promise<tf.Tensor4D> {
  const { data } = await sharp(join(photosDir, file)).rotate().removeAlpha().resize(side, side, { fit: 'fill' }).raw().toBuffer({ resolveWithObject: true });
  return tf.tensor4d(Float32Array.from(data, (v) => (v * range) / 255), [1, side, side, 3]);
}

test('FaceRes: 27 blocks fused, the same descriptor on a real face', async () => {
  const artifacts = await readModelArtifacts(tf as never, join(models, 'faceres.json'));
  let fusedCount = 0;
  const original = await loadGraphModel({ load: async () => artifacts as unknown as tf.io.ModelArtifacts });
  const fused = await load('faceres.json', (p) => {
    const r = fuseRelu6Blocks(p);
    fusedCount = r.fused;
    return r.parts;
  });
  assert.equal(fusedCount, 27);
  const ops = (m: GraphModel) => new Set(Object.values((m as unknown as { executor: { graph: { nodes: Record<string, { op: string }> } } }).executor.graph.nodes).map((n) => n.op));
  for (const op of ['Minimum', 'Maximum', 'Relu', 'Conv2D', 'DepthwiseConv2dNative']) assert.ok(!ops(fused).has(op), `${op} left in the fused graph`);
  // A portrait, whole (FaceRes sees face crops scaled to 0..1).
  const x = await input('gramps_o3-old-man-hat.jpg', 224, 1);
  const a = original.execute(x, 'global_pooling/Mean') as tf.Tensor;
  const b = fused.execute(x, 'global_pooling/Mean') as tf.Tensor;
  const [va, vb] = [await a.data(), await b.data()];
  assert.equal(va.length, 1024);
  let dot = 0, na = 0, nb = 0, worst = 0;
  for (let i = 0; i < va.length; i++) {
    dot += va[i] * vb[i];
    na += va[i] ** 2;
    nb += vb[i] ** 2;
    worst = Math.max(worst, Math.abs(va[i] - vb[i]));
  }
  assert.ok(na > 0);
  assert.ok(dot / Math.sqrt(na * nb) > 0.99999, `cosine ${dot / Math.sqrt(na * nb)}`);
  assert.ok(worst < 1e-3 * Math.sqrt(na), `largest difference ${worst}`);
  tf.dispose([x, a, b]);
});

test('CenterNet at 384 px finds the people CenterNet at 512 finds, the same with the person class alone; bad sides and foreign graphs are refused', async () => {
  const at512 = await load('centernet.json');
  const at384 = await load('centernet.json', (p) => resizeCenterNet(p, 384));
  const persons384 = await load('centernet.json', (p) => resizeCenterNet(centerNetPersonsOnly(p), 384));
  // Detections: [1, 100, 6] = x1, y1, x2, y2 (input pixels), score, class (0: person).
  const persons = async (m: GraphModel, side: number, file: string) => {
    const x = await input(file, side);
    const out = m.execute(x, 'tower_0/detections') as tf.Tensor;
    const rows = ((await out.array()) as number[][][])[0];
    tf.dispose([x, out]);
    return rows.filter((r) => r[5] === 0 && r[4] >= 0.45).map((r) => ({ box: [r[0] / side, r[1] / side, r[2] / side, r[3] / side], score: r[4] }));
  };
  for (const file of ['faces_surfer.jpg', 'dlib_three-friends.jpg']) {
    const big = await persons(at512, 512, file);
    const small = await persons(at384, 384, file);
    assert.ok(big.length >= 1 && small.length >= 1, `${file}: ${big.length} persons at 512, ${small.length} at 384`);
    // The best person at 512 has a counterpart at 384 (overlap > 0.5).
    const iou = (p: number[], q: number[]) => {
      const w = Math.max(0, Math.min(p[2], q[2]) - Math.max(p[0], q[0]));
      const h = Math.max(0, Math.min(p[3], q[3]) - Math.max(p[1], q[1]));
      const area = (r: number[]) => (r[2] - r[0]) * (r[3] - r[1]);
      return (w * h) / (area(p) + area(q) - w * h);
    };
    assert.ok(small.some((s) => iou(s.box, big[0].box) > 0.5), `${file}: ${JSON.stringify(big[0])} vs ${JSON.stringify(small)}`);
    // Scoring the person class alone changes no person's box or score.
    const only = await persons(persons384, 384, file);
    assert.equal(only.length, small.length, file);
    only.forEach((p, i) => {
      assert.ok(Math.abs(p.score - small[i].score) < 1e-4, `${file}: score ${p.score} vs ${small[i].score}`);
      p.box.forEach((v, j) => assert.ok(Math.abs(v - small[i].box[j]) < 1e-3, `${file}: box ${p.box} vs ${small[i].box}`));
    });
  }
  const none = await persons(at384, 384, 'qt_mountain-lake.jpg');
  assert.deepEqual(none, []);
  const parts = (await readModelArtifacts(tf as never, join(models, 'centernet.json'), (p) => p)) as unknown as { modelTopology: { node: GraphParts['nodes'] } };
  assert.throws(() => resizeCenterNet({ nodes: parts.modelTopology.node, weights: new Map() }, 384), /constant/);
  const any = { nodes: [], weights: new Map() };
  assert.throws(() => resizeCenterNet(any, 300), /multiple of 32/);
  assert.throws(() => resizeCenterNet(any, 384), /placeholder/);
  assert.throws(() => centerNetPersonsOnly(any), /class head/);
});
