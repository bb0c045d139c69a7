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

// The memory's rows as float32 (the int8 rows times their scales), made once per memory: usearch's exact search
// takes one element type for the rows and the query, and float32 keeps the query exact.
const dequantised = new WeakMap<ExampleMemory, Float32Array>();

function rowsOf(memory: ExampleMemory): Float32Array {
  let rows = dequantised.get(memory);
  if (!rows) {
    const { dim, n, vectors, scales } = memory;
    rows = new Float32Array(n * dim);
    for (let r = 0; r < n; r++) for (let f = 0; f < dim; f++) rows[r * dim + f] = vectors[r * dim + f] * scales[r];
    dequantised.set(memory, rows);
  }
  return rows;
}

/**
 * Every example by similarity to `x`, most similar first: indexes and cosine similarities (the features are
 * centred and unit-length, so the inner product). usearch's exact search (SIMD, one thread) takes ~0.2 ms for
 * 939 examples of 1280 values, where a JavaScript loop took ~1.5 ms a photo on the ingest path.
 */
function bySimilarity(memory: ExampleMemory, x: ArrayLike<number>): { order: Uint32Array; similarity: Float32Array } {
  // usearch reads a typed array from the start of its buffer (a subarray's offset is ignored): views are copied
  const query = x instanceof Float32Array && x.byteOffset === 0 && x.length === x.buffer.byteLength / 4 ? x : Float32Array.from(x);
  const found = usearch.exactSearch(rowsOf(memory), query, memory.dim, memory.n, usearch.MetricKind.IP, 1) as { keys: BigUint64Array; distances: Float32Array };
  const order = new Uint32Array(memory.n);
  const similarity = new Float32Array(memory.n);
  for (let i = 0; i < memory.n; i++) {
    order[i] = Number(found.keys[i]);
    similarity[i] = 1 - found.distances[i]!; // usearch's inner-product distance is 1 - x.y
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
