// The inference engine: one ONNX Runtime session per model, loaded once; batched runs; softmax; top-k;
// the pooled penultimate features as an L2-normalised image embedding.
import { availableParallelism } from 'node:os';
import { readFile } from 'node:fs/promises';
import * as ort from 'onnxruntime-node';
import type { Label, ModelRef } from '../library/analysis.js';
import { imagenetLabels, type ClassLabel } from './labels.js';
import { DEFAULT_MODEL_ID, type ModelSpec } from './manifest.js';
import { withExtraOutputs } from './onnx-graph.js';
import { resolveModel, type FetchProgress } from './store.js';

/** One model's judgement of one photo. */
export interface Prediction {
  model: ModelRef;
  /** Class probabilities in label-set order (sum 1). */
  probs: Float32Array;
  /** Unit-length embedding: pooled penultimate features, or the probabilities when the graph has none. */
  embedding: Float32Array;
}

export type ExecutionProvider = 'cpu' | 'cuda';

export interface EngineOptions {
  modelId?: string;
  env?: NodeJS.ProcessEnv;
  /** In preference order; default ['cpu']. 'cuda' fails clearly when this onnxruntime has no CUDA. */
  executionProviders?: ExecutionProvider[];
  /** Intra-op threads (default: every core). */
  threads?: number;
  /** Let ORT worker threads spin while waiting for work (default false: leaves the CPU to decoding). */
  spinning?: boolean;
  allowUnverified?: boolean;
  onProgress?: (p: FetchProgress) => void;
}

export class EngineError extends Error {
  override name = 'EngineError';
}

/** Numerically stable softmax of `row` in place. */
export function softmaxInPlace(row: Float32Array): Float32Array {
  let max = -Infinity;
  for (let i = 0; i < row.length; i++) if (row[i] > max) max = row[i];
  let sum = 0;
  for (let i = 0; i < row.length; i++) {
    row[i] = Math.exp(row[i] - max);
    sum += row[i];
  }
  for (let i = 0; i < row.length; i++) row[i] /= sum;
  return row;
}

/** Scales `v` to unit L2 length in place (a zero vector stays zero). */
export function l2NormalizeInPlace(v: Float32Array): Float32Array {
  let ss = 0;
  for (let i = 0; i < v.length; i++) ss += v[i] * v[i];
  const n = Math.sqrt(ss);
  if (n > 0) for (let i = 0; i < v.length; i++) v[i] /= n;
  return v;
}

/** The k best classes, best first (ties: lower index first). */
export function topK(probs: Float32Array, labels: readonly ClassLabel[], k: number): Label[] {
  const n = Math.min(k, probs.length);
  const best: number[] = [];
  for (let i = 0; i < probs.length; i++) {
    if (best.length === n && probs[i] <= probs[best[n - 1]]) continue;
    let j = best.length < n ? best.length : n - 1;
    best[j] = i;
    while (j > 0 && probs[best[j - 1]] < probs[i]) {
      best[j] = best[j - 1];
      best[j - 1] = i;
      j--;
    }
  }
  return best.map((i) => ({ wnid: labels[i].wnid, index: i, name: labels[i].name, score: probs[i] }));
}

function providerAvailable(name: ExecutionProvider): boolean {
  if (name === 'cpu') return true;
  try {
    return ort.listSupportedBackends().some((b) => b.name === name);
  } catch {
    return false;
  }
}

export class Engine {
  /** Input tensors run so far, and `session.run` calls (for metrics). */
  readonly counters = { images: 0, runs: 0 };

  private constructor(
    readonly model: { id: string; sha256: string; spec: ModelSpec },
    readonly labels: ClassLabel[],
    private readonly session: ort.InferenceSession,
    private readonly embeddingOutput: string | null,
    /** Intra-op threads of the session. */
    readonly threads: number,
  ) {}

  /** Resolves (cache / mirror / download) and verifies the model, then opens one session for it. */
  static async load(opts: EngineOptions = {}): Promise<Engine> {
    const resolved = await resolveModel(opts.modelId ?? DEFAULT_MODEL_ID, {
      env: opts.env,
      allowUnverified: opts.allowUnverified,
      onProgress: opts.onProgress,
    });
    const { spec } = resolved;
    if (spec.labelSet !== 'imagenet-1k') throw new EngineError(`model ${spec.id}: unknown label set ${spec.labelSet}`);
    const providers = opts.executionProviders ?? ['cpu'];
    for (const p of providers) {
      if (!providerAvailable(p)) {
        throw new EngineError(
          `execution provider "${p}" is not available in this onnxruntime-node build (available: ` +
            `${ort.listSupportedBackends().map((b) => b.name).join(', ')}); install onnxruntime-node with its CUDA ` +
            `binaries (and CUDA 12 + cuDNN 9) or use --provider cpu`,
        );
      }
    }
    let bytes: Uint8Array = await readFile(resolved.path);
    let embeddingOutput: string | null = null;
    if (spec.embedding) {
      const e = spec.embedding;
      embeddingOutput = 'pictograph_embedding';
      bytes = e.dequantize
        ? withExtraOutputs(bytes, [embeddingOutput], [
            { opType: 'DequantizeLinear', inputs: [e.tensor, e.dequantize.scale, e.dequantize.zeroPoint], outputs: [embeddingOutput], name: 'pictograph_embedding_dq' },
          ])
        : withExtraOutputs(bytes, [embeddingOutput], [{ opType: 'Identity', inputs: [e.tensor], outputs: [embeddingOutput], name: 'pictograph_embedding_id' }]);
    }
    const threads = Math.max(1, opts.threads ?? availableParallelism());
    const sessionOptions: ort.InferenceSession.SessionOptions = {
      executionProviders: providers,
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
      executionMode: 'sequential',
      extra: { session: { intra_op: { allow_spinning: opts.spinning ? '1' : '0' } } },
    };
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(bytes, sessionOptions);
    } catch (err) {
      if (!embeddingOutput) throw err;
      // The graph refused the extra output: fall back to the probability vector as embedding.
      session = await ort.InferenceSession.create(await readFile(resolved.path), sessionOptions);
      embeddingOutput = null;
    }
    if (!session.inputNames.includes(spec.input.inputName) || !session.outputNames.includes(spec.output.name)) {
      await session.release();
      throw new EngineError(`model ${spec.id}: graph has inputs ${session.inputNames} and outputs ${session.outputNames}, not what the manifest says`);
    }
    return new Engine({ id: spec.id, sha256: resolved.sha256, spec }, imagenetLabels(), session, embeddingOutput, threads);
  }

  /** Classifies preprocessed tensors (each 3 x size x size), in batches of at most the model's maxBatch. */
  async run(tensors: Float32Array[]): Promise<Prediction[]> {
    const { spec } = this.model;
    const size = spec.input.size;
    const per = 3 * size * size;
    const out: Prediction[] = [];
    for (let start = 0; start < tensors.length; start += spec.maxBatch) {
      const chunk = tensors.slice(start, start + spec.maxBatch);
      const n = chunk.length;
      let data: Float32Array;
      if (n === 1) data = chunk[0];
      else {
        data = new Float32Array(n * per);
        chunk.forEach((t, i) => data.set(t, i * per));
      }
      for (const t of chunk) if (t.length !== per) throw new EngineError(`input tensor has ${t.length} values, expected ${per}`);
      const feeds = { [spec.input.inputName]: new ort.Tensor('float32', data, [n, 3, size, size]) };
      const fetches = this.embeddingOutput ? [spec.output.name, this.embeddingOutput] : [spec.output.name];
      const result = await this.session.run(feeds, fetches);
      this.counters.runs++;
      this.counters.images += n;
      const scores = result[spec.output.name].data as Float32Array;
      const classes = scores.length / n;
      const emb = this.embeddingOutput ? (result[this.embeddingOutput].data as Float32Array) : null;
      const dims = emb ? emb.length / n : 0;
      for (let i = 0; i < n; i++) {
        const probs = scores.slice(i * classes, (i + 1) * classes);
        if (spec.output.kind === 'logits') softmaxInPlace(probs);
        const embedding = l2NormalizeInPlace(emb ? emb.slice(i * dims, (i + 1) * dims) : probs.slice());
        out.push({ model: { id: this.model.id, sha256: this.model.sha256 }, probs, embedding });
      }
      for (const t of Object.values(result)) t.dispose();
    }
    return out;
  }

  /** The k most probable classes of `probs`, with wnid, index and name. */
  topK(probs: Float32Array, k = 5): Label[] {
    return topK(probs, this.labels, k);
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}
