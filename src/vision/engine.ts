// The inference engine: one ONNX Runtime session per model, loaded once on a worker thread; batched runs;
// softmax; top-k; the pooled penultimate features as an L2-normalised image embedding.
import { availableParallelism } from 'node:os';
import { readFile } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import type { Label, ModelRef } from './prediction.js';
import { imagenetLabels, type ClassLabel } from './labels.js';
import { DEFAULT_MODEL_ID, type ModelSpec } from './manifest.js';
import { withExtraOutputs } from './onnx-graph.js';
import type { WorkerInit, WorkerReply, WorkerRequest } from './engine-worker.js';
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

/**
 * Starts the worker script beside this module: `.js` once compiled; under tsx (tests, bench) the `.ts`
 * source, through a tiny bootstrap that registers tsx in the worker thread first.
 */
function startWorker(init: WorkerInit): Worker {
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./engine-worker.js', import.meta.url), { workerData: init });
  const tsx = import.meta.resolve('tsx/esm/api');
  const script = new URL('./engine-worker.ts', import.meta.url).href;
  const boot = `import(${JSON.stringify(tsx)}).then((api) => { api.register(); return import(${JSON.stringify(script)}); });`;
  return new Worker(boot, { eval: true, workerData: init });
}

/**
 * The graph tensor to use for a manifest name: the name itself when the graph has it, else the graph's only
 * tensor of that kind (quantized re-exports of zoo models sometimes rename their input or output).
 */
export function graphName(wanted: string, names: readonly string[]): string | undefined {
  if (names.includes(wanted)) return wanted;
  return names.length === 1 ? names[0] : undefined;
}

export class Engine {
  /** Input tensors run so far, and `session.run` calls (for metrics). */
  readonly counters = { images: 0, runs: 0 };
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (o: Record<string, Float32Array>) => void; reject: (e: Error) => void }>();
  private closed = false;

  private constructor(
    readonly model: { id: string; sha256: string; spec: ModelSpec },
    readonly labels: ClassLabel[],
    private readonly worker: Worker,
    private readonly embeddingOutput: string | null,
    /** Intra-op threads of the session. */
    readonly threads: number,
    /** The graph output holding the class scores (the manifest's name, or the graph's only output). */
    private readonly outputName: string,
  ) {
    worker.on('message', (m: WorkerReply) => {
      if (m.type !== 'result' && m.type !== 'error') return;
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (this.pending.size === 0) worker.unref();
      if (m.type === 'result') p.resolve(m.outputs);
      else p.reject(new EngineError(`model ${model.id}: inference failed: ${m.message}`));
    });
    worker.on('error', (err) => this.failAll(err));
    worker.on('exit', () => this.failAll(new EngineError(`model ${model.id}: inference worker stopped`)));
    worker.unref();
  }

  private failAll(err: Error): void {
    this.closed = true;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }

  /**
   * Resolves (cache / mirror / download) and verifies the model, then opens one session for it on a
   * worker thread (so inference never blocks the event loop).
   */
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
    const plain: Uint8Array = await readFile(resolved.path);
    let extended: Uint8Array | null = null;
    const embeddingOutput = 'pictograph_embedding';
    if (spec.embedding) {
      const e = spec.embedding;
      extended = e.dequantize
        ? withExtraOutputs(plain, [embeddingOutput], [
            { opType: 'DequantizeLinear', inputs: [e.tensor, e.dequantize.scale, e.dequantize.zeroPoint], outputs: [embeddingOutput], name: 'pictograph_embedding_dq' },
          ])
        : withExtraOutputs(plain, [embeddingOutput], [{ opType: 'Identity', inputs: [e.tensor], outputs: [embeddingOutput], name: 'pictograph_embedding_id' }]);
    }
    const threads = Math.max(1, opts.threads ?? availableParallelism());
    const init: WorkerInit = {
      extended,
      plain,
      inputName: spec.input.inputName,
      size: spec.input.size,
      options: {
        executionProviders: providers,
        intraOpNumThreads: threads,
        interOpNumThreads: 1,
        graphOptimizationLevel: 'all',
        executionMode: 'sequential',
        // No memory pattern: with it ORT plans (and its arena keeps) one block per batch size seen; without it
        // tensors are drawn from the arena one by one. Same speed at batch 1-16, ~8-13 MB less resident
        // (.scratch-measured: RSS after batches 1, 3, 8, 16 grew 26/21/36/63 MB instead of 34/32/46/72 MB).
        // The arena itself stays: without it every activation is a fresh mmap and inference is 3-5x slower.
        enableMemPattern: false,
        extra: { session: { intra_op: { allow_spinning: opts.spinning ? '1' : '0' } } },
      },
    };
    const worker = startWorker(init);
    const ready = await new Promise<WorkerReply>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    if (ready.type !== 'ready') {
      await worker.terminate();
      const why = ready.type === 'failed' ? ready.message : ready.type;
      const accelerated = providers.filter((p) => p !== 'cpu');
      if (accelerated.length > 0) {
        throw new EngineError(
          `execution provider "${accelerated.join('", "')}" is not available: onnxruntime could not start it (${why}); ` +
            `install onnxruntime-node with its CUDA binaries (and CUDA 12 + cuDNN 9) or use --provider cpu`,
        );
      }
      throw new EngineError(`model ${spec.id}: cannot open an ONNX Runtime session: ${why}`);
    }
    const inputName = graphName(spec.input.inputName, ready.inputNames);
    const outputName = graphName(spec.output.name, ready.outputNames.filter((n) => n !== embeddingOutput));
    if (inputName === undefined || outputName === undefined) {
      await worker.terminate();
      throw new EngineError(`model ${spec.id}: graph has inputs ${ready.inputNames} and outputs ${ready.outputNames}, not what the manifest says`);
    }
    return new Engine({ id: spec.id, sha256: resolved.sha256, spec }, imagenetLabels(), worker, ready.extended ? embeddingOutput : null, threads, outputName);
  }

  private runBatch(data: Float32Array, n: number, fetches: string[]): Promise<Record<string, Float32Array>> {
    if (this.closed) return Promise.reject(new EngineError(`model ${this.model.id}: engine is closed`));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.ref();
      const msg: WorkerRequest = { type: 'run', id, data, n, fetches };
      this.worker.postMessage(msg, [data.buffer as ArrayBuffer]);
    });
  }

  /** Classifies preprocessed tensors (each 3 x size x size), in batches of at most the model's maxBatch. */
  async run(tensors: Float32Array[]): Promise<Prediction[]> {
    const { spec } = this.model;
    const size = spec.input.size;
    const per = 3 * size * size;
    for (const t of tensors) if (t.length !== per) throw new EngineError(`input tensor has ${t.length} values, expected ${per}`);
    const fetches = this.embeddingOutput ? [this.outputName, this.embeddingOutput] : [this.outputName];
    const chunks: Array<Promise<Record<string, Float32Array>>> = [];
    const sizes: number[] = [];
    for (let start = 0; start < tensors.length; start += spec.maxBatch) {
      const chunk = tensors.slice(start, start + spec.maxBatch);
      // A fresh buffer per batch: it is transferred to the worker, the callers' tensors stay intact.
      const data = new Float32Array(chunk.length * per);
      chunk.forEach((t, i) => data.set(t, i * per));
      chunks.push(this.runBatch(data, chunk.length, fetches));
      sizes.push(chunk.length);
    }
    const out: Prediction[] = [];
    for (const [c, result] of (await Promise.all(chunks)).entries()) {
      const n = sizes[c];
      this.counters.runs++;
      this.counters.images += n;
      const scores = result[this.outputName];
      const classes = scores.length / n;
      const emb = this.embeddingOutput ? result[this.embeddingOutput] : null;
      const dims = emb ? emb.length / n : 0;
      for (let i = 0; i < n; i++) {
        const probs = scores.slice(i * classes, (i + 1) * classes);
        if (spec.output.kind === 'logits') softmaxInPlace(probs);
        const embedding = l2NormalizeInPlace(emb ? emb.slice(i * dims, (i + 1) * dims) : probs.slice());
        out.push({ model: { id: this.model.id, sha256: this.model.sha256 }, probs, embedding });
      }
    }
    return out;
  }

  /** True when the embedding is the pooled penultimate features (false: the probability vector). */
  get hasFeatureEmbedding(): boolean {
    return this.embeddingOutput !== null;
  }

  /** The k most probable classes of `probs`, with wnid, index and name. */
  topK(probs: Float32Array, k = 5): Label[] {
    return topK(probs, this.labels, k);
  }

  /** Releases the session and stops its worker. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.worker.postMessage({ type: 'close' } satisfies WorkerRequest);
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => void this.worker.terminate().then(() => resolve()), 2000);
      this.worker.once('exit', () => {
        clearTimeout(t);
        resolve();
      });
      this.worker.ref();
    });
  }
}
