// Head features: the engine's unit-length embedding, centred on the training mean and scaled back to unit length
// (centring removes the direction every photo shares, so cosine-like scores separate concepts better).

/** Mean of n row vectors (row-major n x dim). */
export function meanVector(x: Float32Array, n: number, dim: number): Float32Array {
  const acc = new Float64Array(dim);
  for (let i = 0; i < n; i++) for (let f = 0; f < dim; f++) acc[f] += x[i * dim + f];
  const mean = new Float32Array(dim);
  if (n > 0) for (let f = 0; f < dim; f++) mean[f] = acc[f] / n;
  return mean;
}

/** (v - mean) / |v - mean| into `out` (a zero difference stays zero). */
export function centreAndNormalise(v: Float32Array, mean: Float32Array, out: Float32Array = new Float32Array(v.length), at = 0): Float32Array {
  if (v.length !== mean.length) throw new RangeError(`embedding has ${v.length} values, the head expects ${mean.length}`);
  let ss = 0;
  for (let f = 0; f < v.length; f++) {
    const d = v[f] - mean[f];
    out[at + f] = d;
    ss += d * d;
  }
  const norm = Math.sqrt(ss);
  if (norm > 0) for (let f = 0; f < v.length; f++) out[at + f] /= norm;
  return out;
}

/** Stacks embeddings into a row-major matrix of head features. */
export function featureMatrix(embeddings: readonly Float32Array[], mean: Float32Array): Float32Array {
  const dim = mean.length;
  const x = new Float32Array(embeddings.length * dim);
  embeddings.forEach((e, i) => centreAndNormalise(e, mean, x, i * dim));
  return x;
}
