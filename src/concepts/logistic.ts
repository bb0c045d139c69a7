// L2-regularised linear heads on Float32Array features, trained by full-batch Nesterov gradient descent from zero
// weights: several binary outputs at once (logistic, one weight column per concept, per-example weights with 0 =
// unknown) or one multi-class output (softmax, e.g. a photo's subject). One descent loop serves both losses and
// both forms (primal on W, or on A with W = X^T A when examples are few). No randomness: the same data always
// gives the same head, bit for bit.

export interface LogisticOptions {
  /** L2 penalty on the weights (not the bias). Default 1e-3. */
  l2?: number;
  /** Gradient steps. Default 300. */
  iterations?: number;
  /** Record the (training) loss every this many steps; default 10. */
  curveEvery?: number;
  /** Extra examples whose weighted loss is recorded on the same steps (a validation curve). */
  validation?: { x: Float32Array; y: Float32Array; w: Float32Array; n: number };
  /** The Gram matrix X X^T when already computed (several heads on the same features share it). */
  gram?: Float64Array;
}

export interface LogisticModel {
  /** Feature dimension. */
  dim: number;
  /** Number of outputs (concepts, or classes of a softmax). */
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

/** z (n x k) = x (n x dim) W (dim x k) + bias. (Always Float64Array weights: one array type keeps the loop monomorphic.) */
function linearInto(x: Float32Array, n: number, dim: number, W: Float64Array, bias: Float64Array, k: number, z: Float64Array): Float64Array {
  for (let i = 0; i < n; i++) {
    const zi = i * k;
    for (let j = 0; j < k; j++) z[zi + j] = bias[j];
    const xi = i * dim;
    if (k === 1) {
      let s = 0;
      for (let f = 0; f < dim; f++) s += x[xi + f] * W[f];
      z[zi] += s;
      continue;
    }
    for (let f = 0; f < dim; f++) {
      const v = x[xi + f];
      if (v === 0) continue;
      const wf = f * k;
      for (let j = 0; j < k; j++) z[zi + j] += v * W[wf + j];
    }
  }
  return z;
}

/** g (dim x k) = x^T (dim x n) r (n x k). */
function transposedInto(x: Float32Array, n: number, dim: number, r: Float64Array, k: number, g: Float64Array): Float64Array {
  g.fill(0);
  for (let i = 0; i < n; i++) {
    const xi = i * dim;
    if (k === 1) {
      const ri = r[i];
      if (ri === 0) continue;
      for (let f = 0; f < dim; f++) g[f] += x[xi + f] * ri;
      continue;
    }
    const ri = i * k;
    for (let f = 0; f < dim; f++) {
      const v = x[xi + f];
      if (v === 0) continue;
      const gf = f * k;
      for (let j = 0; j < k; j++) g[gf + j] += v * r[ri + j];
    }
  }
  return g;
}

/** Logits of n examples (row-major n x dim) for every output: n x outputs. */
export function logits(model: LogisticModel, x: Float32Array, n: number): Float64Array {
  return linearInto(x, n, model.dim, Float64Array.from(model.weights), Float64Array.from(model.bias), model.outputs, new Float64Array(n * model.outputs));
}

/** Probabilities (sigmoid of the logits), n x outputs. */
export function predict(model: LogisticModel, x: Float32Array, n: number): Float32Array {
  const z = logits(model, x, n);
  const p = new Float32Array(z.length);
  for (let i = 0; i < z.length; i++) p[i] = sigmoid(z[i]);
  return p;
}

/** Class probabilities of a softmax model (n x classes). */
export function predictSoftmax(model: LogisticModel, x: Float32Array, n: number): Float32Array {
  const z = logits(model, x, n);
  const k = model.outputs;
  const p = new Float32Array(z.length);
  for (let i = 0; i < n; i++) softmaxRow(z, i * k, k, p, i * k);
  return p;
}

/** out[outAt..outAt+k) = softmax of z[at..at+k). */
function softmaxRow(z: ArrayLike<number>, at: number, k: number, out: Float32Array | Float64Array, outAt: number): void {
  let max = -Infinity;
  for (let j = 0; j < k; j++) max = Math.max(max, z[at + j]);
  let s = 0;
  for (let j = 0; j < k; j++) s += (out[outAt + j] = Math.exp(z[at + j] - max));
  for (let j = 0; j < k; j++) out[outAt + j] /= s;
}

/** The loss: writes the weighted residual d loss / d z into r and returns the (output-averaged) weighted loss. */
type Loss = (z: Float64Array, y: Float32Array, w: Float32Array, n: number, k: number, r: Float64Array | null) => number;

/** Weighted log-loss per output, averaged over outputs (weights normalised per output, see `perOutputWeights`). */
const binaryLoss: Loss = (z, y, w, n, k, r) => {
  const perOutput = new Float64Array(k);
  const weight = new Float64Array(k);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < k; j++) {
      const at = i * k + j;
      const wi = w[at];
      if (wi === 0) {
        if (r) r[at] = 0;
        continue;
      }
      const zi = z[at];
      const positive = y[at] > 0.5;
      // log(1 + e^-z) for y=1, log(1 + e^z) for y=0, stably.
      const s = positive ? -zi : zi;
      perOutput[j] += wi * (s > 0 ? s + Math.log1p(Math.exp(-s)) : Math.log1p(Math.exp(s)));
      weight[j] += wi;
      if (r) r[at] = wi * (sigmoid(zi) - y[at]);
    }
  }
  let total = 0;
  let outputs = 0;
  for (let j = 0; j < k; j++) {
    if (weight[j] > 0) {
      total += perOutput[j] / weight[j];
      outputs++;
    }
  }
  return outputs > 0 ? total / outputs : 0;
};

/** Weighted cross-entropy of a softmax over the k classes; y is one-hot, w holds one weight per example (column 0). */
const softmaxLoss: Loss = (z, y, w, n, k, r) => {
  const p = new Float64Array(k);
  let loss = 0;
  let weight = 0;
  for (let i = 0; i < n; i++) {
    const wi = w[i * k];
    const at = i * k;
    if (wi === 0) {
      if (r) r.fill(0, at, at + k);
      continue;
    }
    softmaxRow(z, at, k, p, 0);
    for (let j = 0; j < k; j++) {
      if (y[at + j] > 0.5) loss -= wi * Math.log(Math.max(p[j], 1e-300));
      if (r) r[at + j] = wi * (p[j] - y[at + j]);
    }
    weight += wi;
  }
  return weight > 0 ? loss / weight : 0;
};

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
    const xi = i * dim;
    for (let l = 0; l <= i; l++) {
      const xl = l * dim;
      let s = 0;
      for (let f = 0; f < dim; f++) s += x[xi + f] * x[xl + f];
      K[i * n + l] = s;
      K[l * n + i] = s;
    }
  }
  return K;
}

/** Per-output weights scaled to sum to 1 (binary); one weight per example, scaled to sum to 1, in column 0 (softmax). */
function perOutputWeights(w: Float32Array, n: number, k: number, softmax: boolean): Float32Array {
  const wn = new Float32Array(w);
  for (let j = 0; j < (softmax ? 1 : k); j++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += wn[i * k + j];
    if (s > 0) for (let i = 0; i < n; i++) wn[i * k + j] /= s;
  }
  return wn;
}

/** Where the descent runs: on W (dim x k) directly, or on A (n x k) with W = X^T A and logits K A. */
interface Form {
  size: number;
  /** z = logits at parameters p (and bias b). */
  logits(p: Float64Array, b: Float64Array, z: Float64Array): void;
  /** g = gradient of the data term in parameter space from residuals r. */
  gradient(r: Float64Array, g: Float64Array): void;
  model(p: Float64Array, b: Float64Array): LogisticModel;
}

function primalForm(x: Float32Array, n: number, dim: number, k: number): Form {
  return {
    size: dim * k,
    logits: (p, b, z) => void linearInto(x, n, dim, p, b, k, z),
    gradient: (r, g) => void transposedInto(x, n, dim, r, k, g),
    model: (p, b) => ({ dim, outputs: k, weights: Float32Array.from(p), bias: Float32Array.from(b) }),
  };
}

function dualForm(x: Float32Array, n: number, dim: number, k: number, known?: Float64Array): Form {
  const K = known ?? gram(x, n, dim);
  return {
    size: n * k,
    logits: (a, b, z) => {
      for (let i = 0; i < n; i++) {
        const zi = i * k;
        for (let j = 0; j < k; j++) z[zi + j] = b[j];
        const ki = i * n;
        for (let l = 0; l < n; l++) {
          const kv = K[ki + l];
          const al = l * k;
          for (let j = 0; j < k; j++) z[zi + j] += kv * a[al + j];
        }
      }
    },
    gradient: (r, g) => g.set(r),
    model: (a, b) => ({ dim, outputs: k, weights: Float32Array.from(transposedInto(x, n, dim, a, k, new Float64Array(dim * k))), bias: Float32Array.from(b) }),
  };
}

/**
 * Nesterov gradient descent from zero on sum_i w_i loss_i + l2/2 |W|^2 with the step 1/(curvature + l2): features
 * of at most unit length bound the logistic loss's curvature by 0.25 (|x|^2 + 1) <= 0.5 and the softmax's by 1.
 */
function descend(
  form: Form,
  loss: Loss,
  curvature: number,
  y: Float32Array,
  wn: Float32Array,
  n: number,
  k: number,
  opts: LogisticOptions,
): { model: LogisticModel; curve: TrainingCurve } {
  const l2 = opts.l2 ?? 1e-3;
  const iterations = opts.iterations ?? 300;
  const every = opts.curveEvery ?? 10;
  const step = 1 / (curvature + l2);
  const P = new Float64Array(form.size);
  const Pprev = new Float64Array(form.size);
  const Pl = new Float64Array(form.size);
  const b = new Float64Array(k);
  const bprev = new Float64Array(k);
  const bl = new Float64Array(k);
  const z = new Float64Array(n * k);
  const r = new Float64Array(n * k);
  const g = new Float64Array(form.size);
  const curve: TrainingCurve = { step: [], train: [], validation: [] };
  for (let t = 0; t <= iterations; t++) {
    // Nesterov look-ahead point: P + m (P - Pprev), m = (t - 1) / (t + 2).
    const m = t === 0 ? 0 : (t - 1) / (t + 2);
    for (let i = 0; i < P.length; i++) Pl[i] = P[i] + m * (P[i] - Pprev[i]);
    for (let j = 0; j < k; j++) bl[j] = b[j] + m * (b[j] - bprev[j]);
    form.logits(Pl, bl, z);
    const last = t === iterations;
    const record = t % every === 0 || last;
    const trainLoss = loss(z, y, wn, n, k, last ? null : r);
    if (record) {
      curve.step.push(t);
      curve.train.push(trainLoss);
      if (opts.validation) {
        const v = opts.validation;
        curve.validation.push(loss(logits(form.model(Pl, bl), v.x, v.n), v.y, v.w, v.n, k, null));
      }
    }
    if (last) break;
    form.gradient(r, g);
    for (let i = 0; i < P.length; i++) {
      Pprev[i] = P[i];
      P[i] = Pl[i] - step * (g[i] + l2 * Pl[i]);
    }
    for (let j = 0; j < k; j++) {
      let gb = 0;
      for (let i = 0; i < n; i++) gb += r[i * k + j];
      bprev[j] = b[j];
      b[j] = bl[j] - step * gb;
    }
  }
  return { model: form.model(P, b), curve };
}

function checkSizes(x: Float32Array, y: Float32Array, w: Float32Array, n: number, dim: number, k: number): void {
  if (x.length !== n * dim) throw new RangeError(`features: expected ${n} x ${dim} values, got ${x.length}`);
  if (y.length !== n * k || w.length !== n * k) throw new RangeError(`labels and weights: expected ${n} x ${k} values`);
}

/** The cheaper form: the Gram form costs n^2 dim / 2 once + n^2 k per step, the primal 2 n dim k per step. */
function cheaperForm(x: Float32Array, n: number, dim: number, k: number, iterations: number, known?: Float64Array): Form {
  const dualCost = (known ? 0 : (n * n * dim) / 2) + iterations * n * n * k;
  const primalCost = iterations * 2 * n * dim * k;
  return dualCost < primalCost ? dualForm(x, n, dim, k, known) : primalForm(x, n, dim, k);
}

/**
 * Fits weights and biases minimising, per output j, sum_i w_ij logloss(y_ij, x_i . W_j + b_j) + l2/2 |W_j|^2,
 * with per-output weights summing to 1 (see `balancedWeights`). Features should be at most unit length.
 */
export function trainLogistic(x: Float32Array, y: Float32Array, w: Float32Array, n: number, dim: number, k: number, opts: LogisticOptions = {}): { model: LogisticModel; curve: TrainingCurve } {
  checkSizes(x, y, w, n, dim, k);
  return descend(cheaperForm(x, n, dim, k, opts.iterations ?? 300, opts.gram), binaryLoss, 0.5, y, perOutputWeights(w, n, k, false), n, k, opts);
}

/** The same iterates, always on W (for tests and many examples). */
export function trainPrimal(x: Float32Array, y: Float32Array, w: Float32Array, n: number, dim: number, k: number, opts: LogisticOptions = {}): { model: LogisticModel; curve: TrainingCurve } {
  checkSizes(x, y, w, n, dim, k);
  return descend(primalForm(x, n, dim, k), binaryLoss, 0.5, y, perOutputWeights(w, n, k, false), n, k, opts);
}

/** The same iterates, always on A with W = X^T A (for tests and few examples). */
export function trainDual(x: Float32Array, y: Float32Array, w: Float32Array, n: number, dim: number, k: number, opts: LogisticOptions = {}): { model: LogisticModel; curve: TrainingCurve } {
  checkSizes(x, y, w, n, dim, k);
  return descend(dualForm(x, n, dim, k), binaryLoss, 0.5, y, perOutputWeights(w, n, k, false), n, k, opts);
}

/**
 * Multi-class softmax regression: y one-hot (n x classes), `exampleWeights` one weight per example (0 = unknown
 * class, not trained on), L2 on the weights. The validation set's `w` is n x classes with the weight in column 0.
 */
export function trainSoftmax(
  x: Float32Array,
  y: Float32Array,
  exampleWeights: Float32Array,
  n: number,
  dim: number,
  classes: number,
  opts: LogisticOptions = {},
): { model: LogisticModel; curve: TrainingCurve } {
  const w = new Float32Array(n * classes);
  for (let i = 0; i < n; i++) w[i * classes] = exampleWeights[i];
  checkSizes(x, y, w, n, dim, classes);
  return descend(cheaperForm(x, n, dim, classes, opts.iterations ?? 300, opts.gram), softmaxLoss, 1, y, perOutputWeights(w, n, classes, true), n, classes, opts);
}
