// Example memory: the head's labelled training photos themselves, kept in the head (int8 features), voting on a
// new photo's concepts by similarity. For each concept the k most similar examples whose label for it is known vote,
// weighted by exp(cosine / temperature); the vote (a share in [0, 1]) is blended with the logistic score. The
// logistic head draws one flat boundary per concept across very different photos; the memory answers "what were the
// photos most like this one tagged", which carries the rare and visually varied concepts (street, snow, night)
// better. Measured in src/concepts/README.md ("Example memory"). Pure.

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

/** Each concept's vote for one feature vector (the head's centred, unit-length features): in [0, 1], 0 with no voter. */
export function memoryVotes(memory: ExampleMemory, x: ArrayLike<number>): Float32Array {
  const { dim, n, k, vectors, scales } = memory;
  if (x.length !== dim) throw new RangeError(`features have ${x.length} values, the memory expects ${dim}`);
  const similarity = new Float64Array(n);
  const whole = dim - (dim % 4);
  for (let r = 0; r < n; r++) {
    // four partial sums: ~1.5x faster in V8 than one (about 1 ms for 939 examples of 1280 values)
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    const at = r * dim;
    for (let f = 0; f < whole; f += 4) {
      s0 += vectors[at + f] * x[f];
      s1 += vectors[at + f + 1] * x[f + 1];
      s2 += vectors[at + f + 2] * x[f + 2];
      s3 += vectors[at + f + 3] * x[f + 3];
    }
    for (let f = whole; f < dim; f++) s0 += vectors[at + f] * x[f];
    similarity[r] = (s0 + s1 + s2 + s3) * scales[r];
  }
  const order = Array.from({ length: n }, (_, r) => r).sort((a, b) => similarity[b] - similarity[a] || a - b);
  const top = order.length > 0 ? similarity[order[0]] : 0;
  const votes = new Float32Array(k);
  for (let j = 0; j < k; j++) {
    let yes = 0;
    let all = 0;
    let counted = 0;
    for (const r of order) {
      if (memory.known[r * k + j] !== 1) continue;
      // shifted by the best similarity: the same weights, no overflow at small temperatures
      const w = Math.exp((similarity[r] - top) / memory.settings.temperature);
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
