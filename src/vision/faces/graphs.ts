// Rewrites of the detectors' TensorFlow.js graphs at load time, measured on this machine's wasm backend (see
// src/vision/README.md, "People"). The rewrites are pure: a graph is its node list, its signature and its weights
// as typed arrays; `readModelArtifacts` reads a model.json with its shards and applies one.
// - `fuseRelu6Blocks`: FaceRes (a MobileNetV1) was converted with its batch norms and ReLU6 left as separate
//   element-wise ops (Conv2D, Add, Relu, Minimum, Maximum), which cost the wasm backend more than the
//   convolutions themselves. Each block becomes one fused convolution with a bias and ReLU6 (a depthwise
//   convolution's batch-norm scale folded into its kernel): the same function, 2-3x faster.
// - `resizeCenterNet`: CenterNet's input side is fixed at 512 by its placeholder and by the shape constants of its
//   feature pyramid and box decoding; they are rewritten for a smaller side (a multiple of 32).

import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

export interface GraphNode {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, unknown>;
  device?: string;
}

export interface WeightArray {
  shape: number[];
  dtype: 'float32' | 'int32';
  values: Float32Array | Int32Array;
}

interface SignatureTensor {
  name?: string;
  dtype?: string;
  tensorShape?: { dim?: Array<{ size?: string }> };
}

export interface GraphParts {
  nodes: GraphNode[];
  weights: Map<string, WeightArray>;
  signature?: { inputs?: Record<string, SignatureTensor>; outputs?: Record<string, SignatureTensor> };
}

const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');
const source = (input: string): string => input.replace(/^\^/, '').replace(/:\d+$/, '');

function consumersOf(nodes: readonly GraphNode[]): Map<string, number> {
  const n = new Map<string, number>();
  for (const node of nodes) for (const i of node.input ?? []) n.set(source(i), (n.get(source(i)) ?? 0) + 1);
  return n;
}

function constNode(name: string, w: WeightArray): GraphNode {
  const type = w.dtype === 'int32' ? 'DT_INT32' : 'DT_FLOAT';
  return {
    name,
    op: 'Const',
    attr: { dtype: { type }, value: { tensor: { dtype: type, tensorShape: { dim: w.shape.map((s) => ({ size: String(s) })) } } } },
  };
}

/** A scalar constant's value, or undefined when `name` is not a scalar constant. */
function scalar(parts: GraphParts, name: string): number | undefined {
  const w = parts.weights.get(source(name));
  return w && w.values.length === 1 ? w.values[0] : undefined;
}

/**
 * Fuses `Conv2D -> Add(bias) -> Relu -> Minimum(6) -> Maximum(0)` into `_FusedConv2D [BiasAdd, Relu6]` and
 * `DepthwiseConv2dNative -> Mul(scale) -> Add(bias) -> Relu -> Minimum(6) -> Maximum(0)` into
 * `FusedDepthwiseConv2dNative [BiasAdd, Relu6]` with the scale folded into the kernel. Only chains whose inner
 * nodes feed nothing else are fused. Returns the new graph and how many blocks were fused.
 */
export function fuseRelu6Blocks(parts: GraphParts): { parts: GraphParts; fused: number } {
  const byName = new Map(parts.nodes.map((n) => [n.name, n]));
  const uses = consumersOf(parts.nodes);
  const weights = new Map(parts.weights);
  const replaced = new Map<string, GraphNode>();
  const dropped = new Set<string>();
  const added: GraphNode[] = [];
  const only = (name: string, op: string | string[]): GraphNode | undefined => {
    const n = byName.get(source(name));
    const ops = Array.isArray(op) ? op : [op];
    return n && ops.includes(n.op) && uses.get(n.name) === 1 ? n : undefined;
  };
  for (const max of parts.nodes) {
    if (max.op !== 'Maximum' || max.input?.length !== 2 || scalar(parts, max.input[1]) !== 0) continue;
    const min = only(max.input[0], 'Minimum');
    if (!min || min.input?.length !== 2 || scalar(parts, min.input[1]) !== 6) continue;
    const relu = only(min.input[0], 'Relu');
    const add = relu && only(relu.input![0], ['Add', 'AddV2', 'BiasAdd']);
    if (!add || add.input?.length !== 2) continue;
    const bias = weights.get(source(add.input[1]));
    if (!bias || bias.shape.length !== 1) continue;
    const inner = byName.get(source(add.input[0]));
    let fused: GraphNode | undefined;
    let chain: GraphNode[] = [];
    if (inner && inner.op === 'Conv2D' && uses.get(inner.name) === 1) {
      fused = { ...inner, name: max.name, op: '_FusedConv2D', input: [inner.input![0], inner.input![1], add.input[1]] };
      chain = [inner];
    } else if (inner && inner.op === 'Mul' && uses.get(inner.name) === 1 && inner.input?.length === 2) {
      const dw = only(inner.input[0], 'DepthwiseConv2dNative');
      const kernel = dw && weights.get(source(dw.input![1]));
      const scale = weights.get(source(inner.input[1]));
      if (!dw || !kernel || !scale || kernel.shape.length !== 4 || scale.values.length !== kernel.shape[2] * kernel.shape[3]) continue;
      const channels = scale.values.length;
      const folded = Float32Array.from(kernel.values, (v, i) => v * scale.values[i % channels]);
      const name = `${source(dw.input![1])}/folded_scale`;
      const w: WeightArray = { shape: kernel.shape, dtype: 'float32', values: folded };
      weights.set(name, w);
      added.push(constNode(name, w));
      fused = { ...dw, name: max.name, op: 'FusedDepthwiseConv2dNative', input: [dw.input![0], name, add.input[1]] };
      chain = [dw, inner];
    }
    if (!fused) continue;
    fused.attr = { ...fused.attr, fused_ops: { list: { s: [b64('BiasAdd'), b64('Relu6')] } }, num_args: { i: '1' } };
    replaced.set(max.name, fused);
    for (const n of [...chain, add, relu, min]) dropped.add(n.name);
  }
  let nodes = parts.nodes.filter((n) => !dropped.has(n.name)).map((n) => replaced.get(n.name) ?? n);
  nodes = [...added, ...nodes];
  // Constants nothing reads any more (the scales, the 6s and 0s, the unfolded kernels) leave with their weights.
  const still = consumersOf(nodes);
  nodes = nodes.filter((n) => n.op !== 'Const' || still.has(n.name));
  for (const name of [...weights.keys()]) if (!still.has(name)) weights.delete(name);
  return { parts: { ...parts, nodes, weights }, fused: replaced.size };
}

/**
 * CenterNet (human's `centernet.json`: MobileNetV3 + feature pyramid, output stride 4) at a square input of
 * `side` pixels instead of 512: the placeholder and signature shapes, the three upsampling sizes and the box
 * decoding's feature-map width and area. Throws when the graph is not the one these constants were read from.
 */
export function resizeCenterNet(parts: GraphParts, side: number): GraphParts {
  if (!Number.isInteger(side) || side < 64 || side % 32 !== 0) throw new Error(`CenterNet side must be a multiple of 32 (got ${side})`);
  const input = parts.nodes.find((n) => n.op === 'Placeholder');
  const dims = (input?.attr?.shape as { shape?: { dim?: Array<{ size?: string }> } } | undefined)?.shape?.dim;
  const from = Number(dims?.[1]?.size);
  if (!input || !dims || dims.length !== 4 || Number(dims[2]?.size) !== from || !(from > 0)) throw new Error('CenterNet: no square input placeholder');
  const ratio = side / from;
  const weights = new Map(parts.weights);
  const setInt = (name: string, expect: number[], values: number[]): void => {
    const w = weights.get(name);
    if (!w || w.dtype !== 'int32' || w.values.length !== expect.length || expect.some((v, i) => w.values[i] !== v)) {
      throw new Error(`CenterNet: constant ${name} is not ${JSON.stringify(expect)}`);
    }
    weights.set(name, { ...w, values: Int32Array.from(values) });
  };
  const map = from / 4;
  let resizes = 0;
  for (const n of parts.nodes) {
    if (n.op !== 'ResizeBilinear') continue;
    const name = source(n.input![1]);
    const size = weights.get(name);
    if (!size || size.values.length !== 2) throw new Error(`CenterNet: resize ${n.name} has no constant size`);
    setInt(name, Array.from(size.values), Array.from(size.values, (v) => Math.round(v * ratio)));
    resizes++;
  }
  if (resizes !== 3) throw new Error(`CenterNet: expected 3 upsampling steps, found ${resizes}`);
  const out = side / 4;
  setInt('tower_0/BatchGather/concat', [map * map, 4], [out * out, 4]);
  setInt('tower_0/strided_slice_6', [map], [out]);
  const sized = (d: Array<{ size?: string }> | undefined) =>
    d?.map((x, i) => (i === 1 || i === 2 ? { ...x, size: String(Math.round(Number(x.size) * ratio)) } : x));
  const nodes = parts.nodes.map((n) =>
    n === input ? { ...n, attr: { ...n.attr, shape: { shape: { dim: sized(dims) } } } } : n,
  );
  const signature = parts.signature && {
    ...parts.signature,
    inputs: Object.fromEntries(
      Object.entries(parts.signature.inputs ?? {}).map(([k, v]) => [k, { ...v, tensorShape: { ...v.tensorShape, dim: sized(v.tensorShape?.dim) } }]),
    ),
    outputs: Object.fromEntries(
      Object.entries(parts.signature.outputs ?? {}).map(([k, v]) => {
        const d = v.tensorShape?.dim;
        // Feature-map outputs (1 x map x map x C) shrink with the input; the detections (1 x 100 x 6) do not.
        const isMap = d?.length === 4 && Number(d[1]?.size) === map;
        return [k, isMap ? { ...v, tensorShape: { ...v.tensorShape, dim: d.map((x, i) => (i === 1 || i === 2 ? { ...x, size: String(out) } : x)) } } : v];
      }),
    ),
  };
  return { ...parts, nodes, weights, signature };
}

interface TensorLike {
  shape: number[];
  dtype: string;
  dataSync(): Float32Array | Int32Array | Uint8Array;
  dispose(): void;
}

interface WeightSpec {
  name: string;
}

/** What reading and rewriting needs of TensorFlow.js (the instance the models will run on). */
export interface GraphTf {
  io: {
    decodeWeights(data: ArrayBuffer, specs: WeightSpec[]): Record<string, TensorLike>;
    encodeWeights(tensors: Record<string, TensorLike>): Promise<{ data: ArrayBuffer; specs: WeightSpec[] }>;
  };
  tensor(values: Float32Array | Int32Array, shape: number[], dtype: 'float32' | 'int32'): TensorLike;
}

interface ModelJson {
  modelTopology: { node: GraphNode[] } & Record<string, unknown>;
  weightsManifest: Array<{ paths: string[]; weights: WeightSpec[] }>;
  signature?: GraphParts['signature'];
  [key: string]: unknown;
}

/**
 * A TensorFlow.js graph model's artifacts (what `tf.io.IOHandler.load` returns) read from `file` (model.json) and
 * its weight shards beside it, rewritten by `rewrite` when given (weights dequantized, rewritten, stored float32).
 */
export async function readModelArtifacts(tf: GraphTf, file: string, rewrite?: (parts: GraphParts) => GraphParts) {
  const json = JSON.parse(await readFile(file, 'utf8')) as ModelJson;
  const specs: WeightSpec[] = [];
  const shards: Buffer[] = [];
  for (const group of json.weightsManifest) {
    specs.push(...group.weights);
    for (const p of group.paths) shards.push(await readFile(join(dirname(file), p)));
  }
  const all = Buffer.concat(shards);
  const data = all.buffer.slice(all.byteOffset, all.byteOffset + all.length) as ArrayBuffer;
  const meta = { format: json.format, generatedBy: json.generatedBy, convertedBy: json.convertedBy, userDefinedMetadata: json.userDefinedMetadata };
  if (!rewrite) return { ...meta, modelTopology: json.modelTopology, signature: json.signature, weightSpecs: specs, weightData: data };
  const weights = new Map<string, WeightArray>();
  for (const [name, t] of Object.entries(tf.io.decodeWeights(data, specs))) {
    const int = t.dtype === 'int32';
    weights.set(name, { shape: t.shape, dtype: int ? 'int32' : 'float32', values: int ? Int32Array.from(t.dataSync()) : Float32Array.from(t.dataSync()) });
    t.dispose();
  }
  const parts = rewrite({ nodes: json.modelTopology.node, weights, signature: json.signature });
  const tensors: Record<string, TensorLike> = {};
  for (const [name, w] of parts.weights) tensors[name] = tf.tensor(w.values, w.shape, w.dtype);
  try {
    const encoded = await tf.io.encodeWeights(tensors);
    return { ...meta, modelTopology: { ...json.modelTopology, node: parts.nodes }, signature: parts.signature, weightSpecs: encoded.specs, weightData: encoded.data };
  } finally {
    for (const t of Object.values(tensors)) t.dispose();
  }
}

/**
 * CenterNet scoring the COCO `person` class only (class 0), the only one people detection reads: the class
 * head's last 1x1 convolution keeps its first output channel (128 -> 1 instead of 128 -> 80 over the whole
 * stride-4 map) and the decoding's class count becomes 1, so every detection is a person (class 0) and the top
 * 100 peaks and human's non-maximum suppression see persons only (no other object box suppresses one).
 */
export function centerNetPersonsOnly(parts: GraphParts): GraphParts {
  const head = parts.nodes.find((n) => n.name === 'tower_0/CenternetHead/centernet_cls_output/BiasAdd');
  if (!head || head.op !== '_FusedConv2D' || head.input?.length !== 3) throw new Error('CenterNet: no class head');
  const weights = new Map(parts.weights);
  const kernel = weights.get(source(head.input[1]));
  const bias = weights.get(source(head.input[2]));
  const classes = weights.get('tower_0/strided_slice_7');
  if (!kernel || !bias || !classes || kernel.shape.length !== 4 || kernel.shape[3] !== 80 || bias.values.length !== 80 || classes.values[0] !== 80) {
    throw new Error('CenterNet: the class head is not the 80-class COCO head');
  }
  const [kh, kw, inputs] = kernel.shape;
  const first = new Float32Array(kh * kw * inputs);
  for (let i = 0; i < first.length; i++) first[i] = kernel.values[i * 80];
  weights.set(source(head.input[1]), { shape: [kh, kw, inputs, 1], dtype: 'float32', values: first });
  weights.set(source(head.input[2]), { shape: [1], dtype: 'float32', values: Float32Array.of(bias.values[0]) });
  weights.set('tower_0/strided_slice_7', { ...classes, values: Int32Array.of(1) });
  const signature = parts.signature && {
    ...parts.signature,
    outputs: Object.fromEntries(
      Object.entries(parts.signature.outputs ?? {}).map(([k, v]) => {
        const d = v.tensorShape?.dim;
        return [k, k === 'tower_0/keypoints' && d?.length === 4 ? { ...v, tensorShape: { ...v.tensorShape, dim: [...d.slice(0, 3), { size: '1' }] } } : v];
      }),
    ),
  };
  const nodes = parts.nodes.map((n) =>
    n.name === source(head.input![1]) || n.name === source(head.input![2]) ? constNode(n.name, weights.get(n.name)!) : n,
  );
  return { ...parts, nodes, weights, signature };
}
