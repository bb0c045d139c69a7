// A head: concepts scored by logistic regression on one model's embedding, blended with an example memory's vote
// where it keeps one (memory.ts; the everyday head). Heads are versioned JSON files that name the model (id +
// sha256) they were trained on; a head refuses embeddings from any other model.
import { readFile, rename, writeFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { centreAndNormalise } from './features.js';
import { sigmoid, type LogisticModel } from './logistic.js';
import { blendScores, memoryVotes, type ExampleMemory, type MemorySettings } from './memory.js';
import type { Quality } from './metrics.js';

export const HEAD_FORMAT = 'pictograph-head';
/** Version 2 added the optional example memory; version 1 files (no memory) still load. */
export const HEAD_VERSION = 2;
const READABLE_VERSIONS: readonly number[] = [1, 2];

export interface ModelId {
  id: string;
  sha256: string;
}

/** One concept of a head. */
export interface HeadConcept {
  /** Everyday: "beach"; custom: "OWNER/NAME". */
  id: string;
  name: string;
  /** WordNet synset the concept attaches under. */
  wnid: string;
  /** Scores at or above it are tags. */
  threshold: number;
  /**
   * With an example memory: the logistic head's own threshold (its scores alone, without the vote). Cues such as
   * the people rules' are `logisticScore` over it, as they were chosen. Without it, `threshold`.
   */
  cueThreshold?: number;
  /** Validation quality at `threshold` (cross-validated for everyday heads). */
  validation?: Quality & { positives: number; examples: number };
  /** Everyday concepts: the consumer category (subject) the concept belongs to. */
  subject?: string;
}

/** A softmax head choosing a photo's consumer category (subject) on the same features as the concepts. */
export interface SubjectHead {
  ids: string[];
  linear: LogisticModel;
}

export interface HeadFile {
  format: typeof HEAD_FORMAT;
  version: 1 | 2;
  kind: 'everyday' | 'custom';
  model: ModelId;
  dim: number;
  createdAt: string;
  /** How it was trained (seed, regularisation, data), for reproduction. */
  training: Record<string, unknown>;
  concepts: HeadConcept[];
  /** base64 float32: the feature mean (dim), then weights (dim x concepts, feature-major). */
  mean: string;
  weights: string;
  bias: number[];
  /** Everyday heads: the subject (consumer category) softmax head, base64 float32 weights (dim x subjects). */
  subjects?: { ids: string[]; weights: string; bias: number[] };
  /** The example memory (version 2): base64 int8 features (n x dim) with float32 row scales, uint8 labels (n x concepts). */
  memory?: MemorySettings & { n: number; vectors: string; scales: string; y: string; known: string };
}

export class HeadError extends Error {
  override name = 'HeadError';
  constructor(
    readonly code: 'wrong_model' | 'bad_head' | 'bad_embedding',
    message: string,
  ) {
    super(message);
  }
}

const equalTo = (a: Float32Array, b: Float32Array): boolean => a.length === b.length && a.every((v, i) => v === b[i]);
const toBase64 = (a: Float32Array | Int8Array | Uint8Array): string => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
const bytesFromBase64 = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'base64'));
function fromBase64(s: string): Float32Array {
  const bytes = bytesFromBase64(s);
  return new Float32Array(bytes.buffer, 0, bytes.byteLength >> 2);
}

/** A loaded head, ready to score embeddings. */
export class Head {
  private readonly scratch: Float32Array;
  /** The last embedding scored with a memory (its values too, in case the array was reused) and its scores. */
  private last: { embedding: Float32Array; values: Float32Array; model: ModelId; scores: Float32Array } | undefined;
  constructor(
    readonly kind: HeadFile['kind'],
    readonly model: ModelId,
    readonly concepts: HeadConcept[],
    readonly mean: Float32Array,
    readonly linear: LogisticModel,
    readonly training: Record<string, unknown> = {},
    readonly subjects?: SubjectHead,
    readonly memory?: ExampleMemory,
  ) {
    if (linear.dim !== mean.length || linear.outputs !== concepts.length) throw new HeadError('bad_head', 'head: weights do not match the mean or the concept list');
    if (memory && (memory.dim !== mean.length || memory.k !== concepts.length)) throw new HeadError('bad_head', 'head: the example memory does not match the mean or the concept list');
    if (subjects && (subjects.linear.dim !== mean.length || subjects.linear.outputs !== subjects.ids.length)) throw new HeadError('bad_head', 'head: subject weights do not match the mean or the subject list');
    this.scratch = new Float32Array(mean.length);
  }

  get dim(): number {
    return this.mean.length;
  }

  /** Throws unless `model` is exactly the model this head was trained on. */
  checkModel(model: ModelId): void {
    if (model.id !== this.model.id || model.sha256 !== this.model.sha256) {
      throw new HeadError(
        'wrong_model',
        `head trained on ${this.model.id} (${this.model.sha256.slice(0, 12)}) cannot score embeddings of ${model.id} (${model.sha256.slice(0, 12)})`,
      );
    }
  }

  /** Each concept's score for one embedding of `model` (concept order): the logistic probability, blended with the memory's vote. */
  score(embedding: Float32Array, model: ModelId): Float32Array {
    const memory = this.memory;
    if (!memory) return this.logisticScore(embedding, model);
    // A photo is often scored twice in a row (its tags, then its consumer category): the memory's vote costs ~1 ms.
    const last = this.last;
    if (last && last.embedding === embedding && last.model.id === model.id && last.model.sha256 === model.sha256 && equalTo(last.values, embedding)) return last.scores.slice();
    const scores = this.logisticScore(embedding, model);
    // logisticScore left this embedding's features in the scratch vector
    blendScores(scores, memoryVotes(memory, this.scratch), memory.settings.blend);
    this.last = { embedding, values: embedding.slice(), model: { id: model.id, sha256: model.sha256 }, scores: scores.slice() };
    return scores;
  }

  /**
   * The logistic head's probabilities alone, without the memory's vote. The people cues use these: their rules
   * (taxonomy/people.ts) were chosen on them, and out of fold the blended scores gate people photos worse (recall
   * 0.829 against 0.914 on ../shared/data/photos, src/concepts/README.md "Example memory").
   */
  logisticScore(embedding: Float32Array, model: ModelId): Float32Array {
    return Float32Array.from(this.logitsOf(this.linear, embedding, model), sigmoid);
  }

  /** Each subject's probability (softmax) for one embedding of `model`, in `subjects.ids` order; null without a subject head. */
  subjectScores(embedding: Float32Array, model: ModelId): Float32Array | null {
    if (!this.subjects) return null;
    const z = this.logitsOf(this.subjects.linear, embedding, model);
    const max = Math.max(...z);
    const e = z.map((v) => Math.exp(v - max));
    const sum = e.reduce((a, b) => a + b, 0);
    return Float32Array.from(e, (v) => v / sum);
  }

  private logitsOf(linear: LogisticModel, embedding: Float32Array, model: ModelId): Float64Array {
    this.checkModel(model);
    if (embedding.length !== this.dim) throw new HeadError('bad_embedding', `embedding has ${embedding.length} values, the head expects ${this.dim}`);
    const x = centreAndNormalise(embedding, this.mean, this.scratch);
    const { weights: W, bias, outputs: k } = linear;
    const z = Float64Array.from(bias);
    for (let f = 0; f < x.length; f++) {
      const v = x[f];
      const wf = f * k;
      for (let j = 0; j < k; j++) z[j] += v * W[wf + j];
    }
    return z;
  }

  toFile(createdAt = new Date().toISOString()): HeadFile {
    return {
      format: HEAD_FORMAT,
      version: HEAD_VERSION,
      kind: this.kind,
      model: { id: this.model.id, sha256: this.model.sha256 },
      dim: this.dim,
      createdAt,
      training: this.training,
      concepts: this.concepts,
      mean: toBase64(this.mean),
      weights: toBase64(this.linear.weights),
      bias: Array.from(this.linear.bias),
      ...(this.subjects ? { subjects: { ids: this.subjects.ids, weights: toBase64(this.subjects.linear.weights), bias: Array.from(this.subjects.linear.bias) } } : {}),
      ...(this.memory
        ? {
            memory: {
              ...this.memory.settings,
              n: this.memory.n,
              vectors: toBase64(this.memory.vectors),
              scales: toBase64(this.memory.scales),
              y: toBase64(this.memory.y),
              known: toBase64(this.memory.known),
            },
          }
        : {}),
    };
  }

  static fromFile(file: HeadFile): Head {
    if (file.format !== HEAD_FORMAT) throw new HeadError('bad_head', `not a pictograph head (format ${String(file.format)})`);
    if (!READABLE_VERSIONS.includes(file.version)) throw new HeadError('bad_head', `head version ${String(file.version)} is not supported (expected ${READABLE_VERSIONS.join(' or ')})`);
    const mean = fromBase64(file.mean);
    const weights = fromBase64(file.weights);
    const k = file.concepts.length;
    if (mean.length !== file.dim || weights.length !== file.dim * k || file.bias.length !== k) throw new HeadError('bad_head', 'head: array sizes do not match dim and concepts');
    let subjects: SubjectHead | undefined;
    if (file.subjects) {
      const s = file.subjects;
      const sw = fromBase64(s.weights);
      if (sw.length !== file.dim * s.ids.length || s.bias.length !== s.ids.length) throw new HeadError('bad_head', 'head: subject array sizes do not match dim and subjects');
      subjects = { ids: s.ids, linear: { dim: file.dim, outputs: s.ids.length, weights: sw, bias: Float32Array.from(s.bias) } };
    }
    let memory: ExampleMemory | undefined;
    if (file.memory) {
      const m = file.memory;
      const vectors = new Int8Array(bytesFromBase64(m.vectors).buffer);
      const scales = fromBase64(m.scales);
      const y = bytesFromBase64(m.y);
      const known = bytesFromBase64(m.known);
      if (vectors.length !== m.n * file.dim || scales.length !== m.n || y.length !== m.n * k || known.length !== m.n * k) throw new HeadError('bad_head', 'head: example memory sizes do not match dim and concepts');
      memory = { settings: { k: m.k, temperature: m.temperature, blend: m.blend }, dim: file.dim, n: m.n, k, vectors, scales, y, known };
    }
    return new Head(file.kind, file.model, file.concepts, mean, { dim: file.dim, outputs: k, weights, bias: Float32Array.from(file.bias) }, file.training, subjects, memory);
  }
}

export async function readHead(path: string): Promise<Head> {
  let file: HeadFile;
  try {
    file = JSON.parse(await readFile(path, 'utf8')) as HeadFile;
  } catch (err) {
    throw new HeadError('bad_head', `${path}: ${err instanceof Error ? err.message : String(err)}`);
  }
  return Head.fromFile(file);
}

/** Writes a head atomically (tmp + rename); concepts' numbers are rounded so the file diffs readably. */
export async function writeHead(path: string, head: Head, createdAt?: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const file = head.toFile(createdAt);
  await writeFile(`${path}.tmp`, JSON.stringify(file, null, 1) + '\n');
  await rename(`${path}.tmp`, path);
}
