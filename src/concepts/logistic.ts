// L2-regularised logistic regression on Float32Array features: several binary outputs trained together (one
// weight column per concept), per-example weights (0 = unknown for that concept), full-batch Nesterov gradient
// descent from zero weights. No randomness, so the same data always gives the same head, bit for bit.

export interface LogisticOptions {
  /** L2 penalty on the weights (not the bias). Default 1e-3. */
  l2?: number;
  /** Gradient steps. Default 300. */
  iterations?: number;
  /** Record the (training) loss every this many steps; default 10. */
  curveEvery?: number;
  /** Extra examples whose weighted loss is recorded on the same steps (a validation curve). */
  validation?: { x: Float32Array; y: Float32Array; w: Float32Array; n: number };
}

export interface LogisticModel {
  /** Feature dimension. */
  dim: number;
  /** Number of outputs (concepts). */
  outputs: number;
  /** dim x outputs, row-major (feature-major): weight of feature f for output j at f * outputs + j. */
  weights: Float32Array;
  bias: Float32Array;
}

export interface TrainingCurve {
  step: number[];
  /** Weighted mean log-loss per output-averaged step (training examples). */
  train: number[];
  validation: number[];
}

export const sigmoid = (z: number): number => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)));

/** Logits of n examples (row-major n x dim) for every output: n x outputs. */
export function logits(model: LogisticModel, x: Float32Array, n: number): Float64Array {
  const { dim, outputs: k, weights: W, bias } = model;
  const z = new Float64Array(n * k);
  for (let i = 0; i < n; i++) {
    const zi = i * k;
    for (let j = 0; j < k; j++) z[zi + j] = bias[j];
    const xi = i * dim;
    for (let f = 0; f < dim; f++) {
      const v = x[xi + f];
      if (v === 0) continue;
      const wf = f * k;
      for (let j = 0; j < k; j++) z[zi + j] += v * W[wf + j];
    }
  }
  return z;
}

/** Probabilities (sigmoid of the logits), n x outputs. */
export function predict(model: LogisticModel, x: Float32Array, n: number): Float32Array {
  const z = logits(model, x, n);
  const p = new Float32Array(z.length);
  for (let i = 0; i < z.length; i++) p[i] = sigmoid(z[i]);
  return p;
}

/** Weighted log-loss per output, averaged over outputs (weights are normalised per output). */
function weightedLoss(z: Float64Array, y: Float32Array, w: Float32Array, n: number, k: number): number {
  let total = 0;
  let outputsWithWeight = 0;
  for (let j = 0; j < k; j++) {
    let loss = 0;
    let sw = 0;
    for (let i = 0; i < n; i++) {
      const wi = w[i * k + j];
      if (wi === 0) continue;
      const zi = z[i * k + j];
      // log(1 + e^-z) for y=1, log(1 + e^z) for y=0, stably.
      const s = y[i * k + j] > 0.5 ? -zi : zi;
      loss += wi * (s > 0 ? s + Math.log1p(Math.exp(-s)) : Math.log1p(Math.exp(s)));
      sw += wi;
    }
    if (sw > 0) {
      total += loss / sw;
      outputsWithWeight++;
    }
  }
  return outputsWithWeight > 0 ? total / outputsWithWeight : 0;
}

/**
 * Balanced per-example weights: for each output, positives share half the weight and negatives the other half
 * (so a concept with 5 positives among 900 examples is not learnt as "never"); `known` 0 marks unknown labels.
 */
export function balancedWeights(y: Float32Array, known: Uint8Array, n: number, k: number): Float32Array {
  const w = new Float32Array(n * k);
  for (let j = 0; j < k; j++) {
    let pos = 0;
    let neg = 0;
    for (let i = 0; i < n; i++) if (known[i * k + j]) y[i * k + j] > 0.5 ? pos++ : neg++;
    const wp = pos > 0 ? (neg > 0 ? 0.5 : 1) / pos : 0;
    const wn = neg > 0 ? (pos > 0 ? 0.5 : 1) / neg : 0;
    for (let i = 0; i < n; i++) if (known[i * k + j]) w[i * k + j] = y[i * k + j] > 0.5 ? wp : wn;
  }
  return w;
}

/** Gram matrix K = X X^T of n row vectors (n x n, symmetric). */
export function gram(x: Float32Array, n: number, dim: number): Float64Array {
  const K = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const xi = x.subarray(i * dim, (i + 1) * dim);
    for (let l = 0; l <= i; l++) {
      const xl = x.subarray(l * dim, (l + 1) * dim);
      let s = 0;
      for (let f = 0; f < dim; f++) s += xi[f] * xl[f];
      K[i * n + l] = s;
      K[l * n + i] = s;
    }
  }
  return K;
}

/**
 * Fits weights and biases minimising, per output j, sum_i w_ij logloss(y_ij, x_i . W_j + b_j) + l2/2 |W_j|^2,
 * with per-output weights summing to 1 (see `balancedWeights`). Features should be at most unit length: the
 * step 1/(0.5 + l2) is then safe (the loss's curvature is at most 0.25 (|x|^2 + 1) <= 0.5).
 *
 * Gradient descent from W = 0 keeps W = X^T A, so the steps run on A (n x outputs) with logits K A (K = X X^T):
 * the same iterates as the primal steps, at n^2 instead of 2 n dim multiplications per output and step.
 */
export function trainLogistic(
  x: Float32Array,
  y: Float32Array,
  w: Float32Array,
  n: number,
  dim: number,
  k: number,
  opts: LogisticOptions = {},
): { model: LogisticModel; curve: TrainingCurve } {
  const iterations = opts.iterations ?? 300;
  // Same iterates either way; pick the cheaper: the Gram form costs n^2 dim / 2 once + n^2 k per step, the
  // primal form 2 n dim k per step (many examples, e.g. an owner's 10,000 photos as negatives: primal).
  const dualCost = (n * n * dim) / 2 + iterations * n * n * k;
  const primalCost = iterations * 2 * n * dim * k;
  return dualCost < primalCost ? trainDual(x, y, w, n, dim, k, opts) : trainPrimal(x, y, w, n, dim, k, opts);
}

function normalisedWeights(w: Float32Array, n: number, k: number): Float32Array {
  const wn = new Float32Array(w);
  for (let j = 0; j < k; j++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += wn[i * k + j];
    if (s > 0) for (let i = 0; i < n; i++) wn[i * k + j] /= s;
  }
  return wn;
}

/** Primal Nesterov gradient descent on W (dim x k) directly. */
export function trainPrimal(
  x: Float32Array,
  y: Float32Array,
  w: Float32Array,
  n: number,
  dim: number,
  k: number,
  opts: LogisticOptions,
): { model: LogisticModel; curve: TrainingCurve } {
  const l2 = opts.l2 ?? 1e-3;
  const iterations = opts.iterations ?? 300;
  const every = opts.curveEvery ?? 10;
  if (x.length !== n * dim) throw new RangeError(`features: expected ${n} x ${dim} values, got ${x.length}`);
  if (y.length !== n * k || w.length !== n * k) throw new RangeError(`labels and weights: expected ${n} x ${k} values`);
  const wn = normalisedWeights(w, n, k);
  const step = 1 / (0.5 + l2);
  const W = new Float64Array(dim * k);
  const Wprev = new Float64Array(dim * k);
  const b = new Float64Array(k);
  const bprev = new Float64Array(k);
  const look: LogisticModel = { dim, outputs: k, weights: new Float32Array(dim * k), bias: new Float32Array(k) };
  const grad = new Float64Array(dim * k);
  const gb = new Float64Array(k);
  const curve: TrainingCurve = { step: [], train: [], validation: [] };
  for (let t = 0; t <= iterations; t++) {
    const m = t === 0 ? 0 : (t - 1) / (t + 2);
    for (let i = 0; i < W.length; i++) look.weights[i] = W[i] + m * (W[i] - Wprev[i]);
    for (let j = 0; j < k; j++) look.bias[j] = b[j] + m * (b[j] - bprev[j]);
    const z = logits(look, x, n);
    if (t % every === 0 || t === iterations) {
      curve.step.push(t);
      curve.train.push(weightedLoss(z, y, wn, n, k));
      if (opts.validation) {
        const v = opts.validation;
        curve.validation.push(weightedLoss(logits(look, v.x, v.n), v.y, v.w, v.n, k));
      }
    }
    if (t === iterations) break;
    grad.fill(0);
    gb.fill(0);
    for (let i = 0; i < n; i++) {
      const xi = i * dim;
      for (let j = 0; j < k; j++) {
        const wi = wn[i * k + j];
        if (wi === 0) continue;
        const r = wi * (sigmoid(z[i * k + j]) - y[i * k + j]);
        gb[j] += r;
        for (let f = 0; f < dim; f++) grad[f * k + j] += x[xi + f] * r;
      }
    }
    for (let i = 0; i < W.length; i++) {
      Wprev[i] = W[i];
      W[i] = look.weights[i] - step * (grad[i] + l2 * look.weights[i]);
    }
    for (let j = 0; j < k; j++) {
      bprev[j] = b[j];
      b[j] = look.bias[j] - step * gb[j];
    }
  }
  return { model: { dim, outputs: k, weights: Float32Array.from(W), bias: Float32Array.from(b) }, curve };
}

export function trainDual(
  x: Float32Array,
  y: Float32Array,
  w: Float32Array,
  n: number,
  dim: number,
  k: number,
  opts: LogisticOptions,
): { model: LogisticModel; curve: TrainingCurve } {
  const l2 = opts.l2 ?? 1e-3;
  const iterations = opts.iterations ?? 300;
  const every = opts.curveEvery ?? 10;
  if (x.length !== n * dim) throw new RangeError(`features: expected ${n} x ${dim} values, got ${x.length}`);
  if (y.length !== n * k || w.length !== n * k) throw new RangeError(`labels and weights: expected ${n} x ${k} values`);
  const wn = normalisedWeights(w, n, k);
  const step = 1 / (0.5 + l2);
  const K = gram(x, n, dim);
  const A = new Float64Array(n * k);
  const Aprev = new Float64Array(n * k);
  const b = new Float64Array(k);
  const bprev = new Float64Array(k);
  const Al = new Float64Array(n * k);
  const bl = new Float64Array(k);
  const z = new Float64Array(n * k);
  const curve: TrainingCurve = { step: [], train: [], validation: [] };
  const toModel = (a: Float64Array, bias: Float64Array): LogisticModel => {
    const W = new Float64Array(dim * k);
    for (let i = 0; i < n; i++) {
      const xi = i * dim;
      const ai = i * k;
      for (let f = 0; f < dim; f++) {
        const v = x[xi + f];
        if (v === 0) continue;
        const wf = f * k;
        for (let j = 0; j < k; j++) W[wf + j] += v * a[ai + j];
      }
    }
    return { dim, outputs: k, weights: Float32Array.from(W), bias: Float32Array.from(bias) };
  };
  for (let t = 0; t <= iterations; t++) {
    // Nesterov look-ahead point: A + m (A - Aprev), m = (t - 1) / (t + 2).
    const m = t === 0 ? 0 : (t - 1) / (t + 2);
    for (let i = 0; i < A.length; i++) Al[i] = A[i] + m * (A[i] - Aprev[i]);
    for (let j = 0; j < k; j++) bl[j] = b[j] + m * (b[j] - bprev[j]);
    // z = K Al + b
    for (let i = 0; i < n; i++) {
      const zi = i * k;
      for (let j = 0; j < k; j++) z[zi + j] = bl[j];
      const ki = i * n;
      for (let l = 0; l < n; l++) {
        const kv = K[ki + l];
        const al = l * k;
        for (let j = 0; j < k; j++) z[zi + j] += kv * Al[al + j];
      }
    }
    if (t % every === 0 || t === iterations) {
      curve.step.push(t);
      curve.train.push(weightedLoss(z, y, wn, n, k));
      if (opts.validation) {
        const v = opts.validation;
        curve.validation.push(weightedLoss(logits(toModel(Al, bl), v.x, v.n), v.y, v.w, v.n, k));
      }
    }
    if (t === iterations) break;
    for (let i = 0; i < n * k; i++) {
      const r = wn[i] === 0 ? 0 : wn[i] * (sigmoid(z[i]) - y[i]);
      Aprev[i] = A[i];
      A[i] = Al[i] - step * (r + l2 * Al[i]);
    }
    for (let j = 0; j < k; j++) {
      let g = 0;
      for (let i = 0; i < n; i++) {
        const wi = wn[i * k + j];
        if (wi !== 0) g += wi * (sigmoid(z[i * k + j]) - y[i * k + j]);
      }
      bprev[j] = b[j];
      b[j] = bl[j] - step * g;
    }
  }
  return { model: toModel(A, b), curve };
}
