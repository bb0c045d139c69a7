// Example memory: the head's labelled training photos themselves, kept in the head (int8 features), voting on a
// new photo's concepts by similarity. For each concept the k most similar examples whose label for it is known vote,
// weighted by exp(cosine / temperature); the vote (a share in [0, 1]) is blended with the logistic score. The
// logistic head draws one flat boundary per concept across very different photos; the memory answers "what were the
// photos most like this one tagged", which carries the rare and visually varied concepts (street, snow, night)
// better. Measured in src/concepts/README.md ("Example memory"). Pure; the similarity search is usearch's exact
// (SIMD) search.
import usearch from 'usearch';

export interface MemorySettings {
  /** Neighbours that vote on each concept. */
  k: number;
  /** Softmax temperature over cosine similarity (small: the closest examples dominate). */
  temperature: number;
  /** Share of the memory's vote in the blended score (0: logistic only, 1: memory only). */
  blend: number;
}

export interface ExampleMemory {
  settings: MemorySettings;
  dim: number;
  /** Examples kept. */
  n: number;
  /** Concepts. */
  k: number;
  /** n x dim features, each row quantised to int8 with its own scale (row = vectors x scale). */
  vectors: Int8Array;
  scales: Float32Array;
  /** n x k labels: y (1 yes, 0 no) where known is 1. */
  y: Uint8Array;
  known: Uint8Array;
}

/**
 * A memory of n examples: `x` their head features (row-major n x dim), `y` / `known` their labels (n x k). Rows
 * without any known label are left out (they could never vote).
 */
export function buildMemory(x: Float32Array, y: ArrayLike<number>, known: ArrayLike<number>, n: number, dim: number, k: number, settings: MemorySettings): ExampleMemory {
  const keep: number[] = [];
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < k; j++) {
      if (known[i * k + j] === 1) {
        keep.push(i);
        break;
      }
    }
  }
  const vectors = new Int8Array(keep.length * dim);
  const scales = new Float32Array(keep.length);
  const ys = new Uint8Array(keep.length * k);
  const knowns = new Uint8Array(keep.length * k);
  keep.forEach((i, r) => {
    let max = 0;
    for (let f = 0; f < dim; f++) max = Math.max(max, Math.abs(x[i * dim + f]));
    const scale = max > 0 ? max / 127 : 1;
    scales[r] = scale;
    for (let f = 0; f < dim; f++) vectors[r * dim + f] = Math.round(x[i * dim + f] / scale);
    for (let j = 0; j < k; j++) {
      knowns[r * k + j] = known[i * k + j] === 1 ? 1 : 0;
      ys[r * k + j] = knowns[r * k + j] === 1 && y[i * k + j] > 0.5 ? 1 : 0;
    }
  });
  return { settings: { ...settings }, dim, n: keep.length, k, vectors, scales, y: ys, known: knowns };
}

// usearch reads a typed array from the start of its buffer (a subarray's offset is ignored): a memory whose rows
// are a view into a larger buffer (a head read from disk) searches a copy of them, made once.
const wholeRows = new WeakMap<ExampleMemory, Int8Array>();

function rowsOf(memory: ExampleMemory): Int8Array {
  const v = memory.vectors;
  if (v.byteOffset === 0 && v.byteLength === v.buffer.byteLength) return v;
  let rows = wholeRows.get(memory);
  if (!rows) wholeRows.set(memory, (rows = Int8Array.from(v)));
  return rows;
}

/** `x` as int8 with one scale (x ~ scale * q), and what that leaves out (x - scale * q). */
function quantise(x: ArrayLike<number>): { q: Int8Array; scale: number; rest: Float64Array } {
  let max = 0;
  for (let f = 0; f < x.length; f++) max = Math.max(max, Math.abs(x[f]!));
  const scale = max > 0 ? max / 127 : 1;
  const q = new Int8Array(x.length);
  const rest = new Float64Array(x.length);
  for (let f = 0; f < x.length; f++) {
    q[f] = Math.round(x[f]! / scale);
    rest[f] = x[f]! - scale * q[f]!;
  }
  return { q, scale, rest };
}

/**
 * Every example by similarity to `x`, most similar first: indexes and cosine similarities (the features are
 * centred and unit-length, so the inner product). The rows stay int8 (1.2 MB for 939 x 1280; float32 copies of
 * them took 4.8 MB in every process): the query is split into three int8 parts, x ~ a * q1 + b * q2 + c * q3 (each
 * value within 1/8,000,000 of the largest), and usearch's exact integer search (SIMD, one thread) runs once for
 * each part.
 */
function bySimilarity(memory: ExampleMemory, x: ArrayLike<number>): { order: Uint32Array; similarity: Float32Array } {
  const { n, dim, scales } = memory;
  const rows = rowsOf(memory);
  const first = quantise(x);
  type Found = { keys: BigUint64Array; distances: Float32Array };
  // usearch's integer inner-product distance is 1 - q.row
  const coarse = usearch.exactSearch(rows, first.q, dim, n, usearch.MetricKind.IP, 1) as Found;
  // What the first part left out, in two more int8 parts (each part is ~127x finer than the one before).
  const residual = new Float64Array(n);
  let rest = first.rest;
  for (let part = 0; part < 2; part++) {
    const finer = quantise(rest);
    const fine = usearch.exactSearch(rows, finer.q, dim, n, usearch.MetricKind.IP, 1) as Found;
    for (let i = 0; i < n; i++) residual[Number(fine.keys[i])]! += finer.scale * (1 - fine.distances[i]!);
    rest = finer.rest;
  }
  const order = new Uint32Array(n);
  const similarity = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const r = Number(coarse.keys[i]);
    order[i] = r;
    similarity[i] = scales[r]! * (first.scale * (1 - coarse.distances[i]!) + residual[r]!);
  }
  // The coarse order is nearly the exact one: an insertion sort puts the few rows it misplaces right.
  for (let i = 1; i < n; i++) {
    const r = order[i]!;
    const v = similarity[i]!;
    let j = i - 1;
    while (j >= 0 && similarity[j]! < v) {
      order[j + 1] = order[j]!;
      similarity[j + 1] = similarity[j]!;
      j--;
    }
    order[j + 1] = r;
    similarity[j + 1] = v;
  }
  return { order, similarity };
}

/** Each concept's vote for one feature vector (the head's centred, unit-length features): in [0, 1], 0 with no voter. */
export function memoryVotes(memory: ExampleMemory, x: ArrayLike<number>): Float32Array {
  const { dim, n, k } = memory;
  if (x.length !== dim) throw new RangeError(`features have ${x.length} values, the memory expects ${dim}`);
  const votes = new Float32Array(k);
  if (n === 0) return votes;
  const { order, similarity } = bySimilarity(memory, x);
  const top = similarity[0]!;
  for (let j = 0; j < k; j++) {
    let yes = 0;
    let all = 0;
    let counted = 0;
    for (let i = 0; i < n; i++) {
      const r = order[i]!;
      if (memory.known[r * k + j] !== 1) continue;
      // shifted by the best similarity: the same weights, no overflow at small temperatures
      const w = Math.exp((similarity[i]! - top) / memory.settings.temperature);
      all += w;
      if (memory.y[r * k + j] === 1) yes += w;
      if (++counted >= memory.settings.k) break;
    }
    votes[j] = all > 0 ? yes / all : 0;
  }
  return votes;
}

/** (1 - blend) x logistic + blend x vote, per concept (in place on `scores`). */
export function blendScores(scores: Float32Array, votes: ArrayLike<number>, blend: number): Float32Array {
  for (let j = 0; j < scores.length; j++) scores[j] = (1 - blend) * scores[j] + blend * votes[j];
  return scores;
}
