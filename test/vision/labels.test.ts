// The imagenet-1k label table and the in-memory ONNX graph extension used for embeddings.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { imagenetLabels, parseClassTable } from '../../src/vision/labels.js';
import { withExtraOutputs } from '../../src/vision/onnx-graph.js';
import { modelMirror } from '../support/env.js';

test('the imagenet-1k table has 1000 classes in sorted-wnid order', () => {
  const labels = imagenetLabels();
  assert.equal(labels.length, 1000);
  labels.forEach((l, i) => assert.equal(l.index, i));
  const wnids = labels.map((l) => l.wnid);
  assert.deepEqual(wnids, [...wnids].sort());
  assert.equal(new Set(wnids).size, 1000);
  assert.throws(() => parseClassTable('class_index\twnid\tname\n1\tn01440764\ttench\n'), /bad class table line 2/);
});

test('an extra graph output is added without touching the original bytes', async () => {
  const bytes = readFileSync(join(modelMirror, 'shufflenet-v2-12-qdq.onnx'));
  const extended = withExtraOutputs(bytes, ['611']);
  assert.deepEqual(Buffer.from(extended.subarray(0, bytes.length)), bytes);
  const session = await ort.InferenceSession.create(extended, { intraOpNumThreads: 1 });
  try {
    assert.deepEqual([...session.outputNames].sort(), ['611', 'output']);
    const x = new ort.Tensor('float32', new Float32Array(3 * 224 * 224).map((_, i) => Math.sin(i)), [1, 3, 224, 224]);
    const r = await session.run({ input: x });
    assert.deepEqual(r['611'].dims, [1, 1024]);
  } finally {
    await session.release();
  }
});
