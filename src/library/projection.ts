// Dimension reduction for the similar-photos index: unit embeddings are centred and projected onto their top
// principal subspace (learned by block power iteration on a sample), then quantised to int8. Squared L2 distance
// between projections approximates that between the unit embeddings, which orders photos as cosine does.
import { mulberry32 } from '../concepts/metrics.js';

export interface Projection {
  /** Input dimensions (the model's embedding size). */
  inputDims: number;
  /** Output dimensions. */
  dims: number;
  /** Mean of the unit sample embeddings (inputDims). */
  mean: Float32Array;
  /** Orthonormal basis, row-major dims x inputDims. */
  basis: Float32Array;
  /** Multiplier before rounding to int8 (so the sample's projections use the int8 range). */
  scale: number;
}

function unit(x: Float32Array): Float32Array {
  let n = 0;
  for (let i = 0; i < x.length; i++) n += x[i]! * x[i]!;
  const out = new Float32Array(x.length);
  if (n === 0) return out;
  const inv = 1 / Math.sqrt(n);
  for (let i = 0; i < x.length; i++) out[i] = x[i]! * inv;
  return out;
}

/** Centred deterministic noise (the learned subspace is the same for the same sample). */
function prng(seed: number): () => number {
  const next = mulberry32(seed);
  return () => next() - 0.5;
}

/** Orthonormalises the rows of a (k x d, row-major) in place (modified Gram-Schmidt). */
function orthonormalRows(a: Float64Array, k: number, d: number): void {
  for (let i = 0; i < k; i++) {
    const ri = i * d;
    for (let j = 0; j < i; j++) {
      const rj = j * d;
      let dot = 0;
      for (let c = 0; c < d; c++) dot += a[ri + c]! * a[rj + c]!;
      for (let c = 0; c < d; c++) a[ri + c]! -= dot * a[rj + c]!;
    }
    let n = 0;
    for (let c = 0; c < d; c++) n += a[ri + c]! * a[ri + c]!;
    const inv = n > 1e-20 ? 1 / Math.sqrt(n) : 0;
    for (let c = 0; c < d; c++) a[ri + c]! *= inv;
  }
}

/**
 * Learns a projection of `dims` dimensions from sample embeddings: the span of the top principal
 * components of the centred unit vectors (block power iteration, `iterations` rounds).
 */
export function learnProjection(samples: Float32Array[], dims: number, opts: { iterations?: number; seed?: number } = {}): Projection {
  if (samples.length === 0) throw new Error('a projection needs sample embeddings');
  const d = samples[0]!.length;
  const k = Math.min(dims, d);
  const xs = samples.map(unit);
  const mean = new Float32Array(d);
  for (const x of xs) for (let c = 0; c < d; c++) mean[c]! += x[c]! / xs.length;
  const centred = xs.map((x) => x.map((v, c) => v - mean[c]!));
  const r = prng(opts.seed ?? 12);
  const q = new Float64Array(k * d);
  for (let i = 0; i < q.length; i++) q[i] = r();
  orthonormalRows(q, k, d);
  const proj = new Float64Array(k);
  for (let it = 0; it < (opts.iterations ?? 4); it++) {
    // q <- orth(Q X^T X): accumulate sum over samples of (Q x) x^T
    const next = new Float64Array(k * d);
    for (const x of centred) {
      for (let i = 0; i < k; i++) {
        let s = 0;
        const ri = i * d;
        for (let c = 0; c < d; c++) s += q[ri + c]! * x[c]!;
        proj[i] = s;
      }
      for (let i = 0; i < k; i++) {
        const s = proj[i]!;
        const ri = i * d;
        for (let c = 0; c < d; c++) next[ri + c]! += s * x[c]!;
      }
    }
    orthonormalRows(next, k, d);
    q.set(next);
  }
  const basis = Float32Array.from(q);
  const p: Projection = { inputDims: d, dims: k, mean, basis, scale: 1 };
  // int8 range: the 99.9th percentile of |component| over the sample maps to 127
  const abs: number[] = [];
  for (const x of samples) for (const v of projectFloat(p, x)) abs.push(Math.abs(v));
  abs.sort((a, b) => a - b);
  const top = abs[Math.min(abs.length - 1, Math.floor(abs.length * 0.999))] ?? 1;
  p.scale = top > 0 ? 127 / top : 1;
  return p;
}

/** The centred unit embedding in the projection's basis (float). */
export function projectFloat(p: Projection, x: Float32Array): Float32Array {
  if (x.length !== p.inputDims) throw new Error(`embedding has ${x.length} dimensions, the projection expects ${p.inputDims}`);
  const u = unit(x);
  const d = p.inputDims;
  const mean = p.mean;
  for (let c = 0; c < d; c++) u[c]! -= mean[c]!;
  const b = p.basis;
  const out = new Float32Array(p.dims);
  // four basis rows per pass over the centred vector (the vector is read once per four outputs)
  let i = 0;
  for (; i + 4 <= p.dims; i += 4) {
    const r0 = i * d;
    const r1 = r0 + d;
    const r2 = r1 + d;
    const r3 = r2 + d;
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    for (let c = 0; c < d; c++) {
      const v = u[c]!;
      s0 += b[r0 + c]! * v;
      s1 += b[r1 + c]! * v;
      s2 += b[r2 + c]! * v;
      s3 += b[r3 + c]! * v;
    }
    out[i] = s0;
    out[i + 1] = s1;
    out[i + 2] = s2;
    out[i + 3] = s3;
  }
  for (; i < p.dims; i++) {
    let s = 0;
    const ri = i * d;
    for (let c = 0; c < d; c++) s += b[ri + c]! * u[c]!;
    out[i] = s;
  }
  return out;
}

/** The projection quantised to int8 (clamped to +-127). */
export function projectInt8(p: Projection, x: Float32Array): Int8Array {
  const f = projectFloat(p, x);
  const out = new Int8Array(f.length);
  for (let i = 0; i < f.length; i++) out[i] = Math.max(-127, Math.min(127, Math.round(f[i]! * p.scale)));
  return out;
}

/** JSON-safe form (for the index's side file). */
export function projectionToJson(p: Projection): object {
  return { inputDims: p.inputDims, dims: p.dims, scale: p.scale, mean: Buffer.from(p.mean.buffer, p.mean.byteOffset, p.mean.byteLength).toString('base64'), basis: Buffer.from(p.basis.buffer, p.basis.byteOffset, p.basis.byteLength).toString('base64') };
}

export function projectionFromJson(j: { inputDims: number; dims: number; scale: number; mean: string; basis: string }): Projection {
  const floats = (b64: string) => {
    const bytes = Buffer.from(b64, 'base64');
    const copy = new Uint8Array(bytes.byteLength);
    copy.set(bytes);
    return new Float32Array(copy.buffer);
  };
  return { inputDims: j.inputDims, dims: j.dims, scale: j.scale, mean: floats(j.mean), basis: floats(j.basis) };
}
