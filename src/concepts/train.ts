// Training heads: fit (centre, normalise, balanced logistic regression), k-fold cross-validation with
// out-of-fold scores, and per-concept thresholds chosen on scores the head never trained on.
import { featureMatrix, meanVector } from './features.js';
import { balancedWeights, gram, predict, predictSoftmax, trainLogistic, trainSoftmax, type LogisticModel, type TrainingCurve } from './logistic.js';
import { blendScores, buildMemory, memoryVotes, type ExampleMemory, type MemorySettings } from './memory.js';
import { assignFolds, countAt, microAverage, quality, shrunkThresholds, type Counts, type Quality } from './metrics.js';

export interface TrainSettings {
  l2: number;
  iterations: number;
  folds: number;
  seed: number;
  /** Thresholds: 'global' (one for every concept) or the prior of `shrunkThresholds` (default 50). */
  thresholds?: 'global' | number;
  /** Gradient steps of the subject (softmax) head, when the examples have subjects. */
  subjectIterations?: number;
  /** Keep the training examples in the head and blend their similarity vote into the scores (memory.ts). */
  memory?: MemorySettings;
}

export const DEFAULT_SETTINGS: TrainSettings = { l2: 1e-3, iterations: 100, folds: 5, seed: 10, thresholds: 50, subjectIterations: 300 };

/** The prior `shrunkThresholds` takes for a setting ('global': infinite, so every concept gets the global threshold). */
export const thresholdPrior = (s: Pick<TrainSettings, 'thresholds'>): number => (s.thresholds === 'global' ? Infinity : (s.thresholds ?? 50));

/** Labelled examples for k concepts: y and known are n x k row-major. */
export interface Examples {
  embeddings: readonly Float32Array[];
  y: Float32Array;
  known: Uint8Array;
  k: number;
  /** Per-example weight factor on top of the balanced weights (default 1), e.g. real photos over ImageNet ones. */
  weight?: Float32Array;
  /** Augmented copies (augmented[a][row], e.g. mirrored photos): trained on with the row's labels, never scored. */
  augmented?: ReadonlyArray<readonly Float32Array[]>;
  /** Each example's subject (index into `subjects`, -1 unknown): a softmax subject head is fitted too. */
  subject?: Int32Array;
  subjects?: number;
}

export interface Fit {
  mean: Float32Array;
  linear: LogisticModel;
  curve: TrainingCurve;
  /** The softmax subject head on the same features (when the examples have subjects). */
  subject?: LogisticModel;
  /** The examples trained on (not their augmented copies), voting by similarity (settings.memory). */
  memory?: ExampleMemory;
}

function pick(ex: Examples, rows: number[], withAugmented = false): { embeddings: Float32Array[]; rows: number[]; y: Float32Array; known: Uint8Array; weight: Float32Array } {
  const k = ex.k;
  const copies = [ex.embeddings, ...(withAugmented ? (ex.augmented ?? []) : [])];
  const all = copies.flatMap(() => rows);
  const y = new Float32Array(all.length * k);
  const known = new Uint8Array(all.length * k);
  all.forEach((r, i) => {
    y.set(ex.y.subarray(r * k, (r + 1) * k), i * k);
    known.set(ex.known.subarray(r * k, (r + 1) * k), i * k);
  });
  const embeddings = copies.flatMap((c) => rows.map((r) => c[r] as Float32Array));
  return { embeddings, rows: all, y, known, weight: Float32Array.from(all, (r) => ex.weight?.[r] ?? 1) };
}

/** Balanced weights (see `balancedWeights`) times each example's own factor. */
function exampleWeights(p: ReturnType<typeof pick>, k: number): Float32Array {
  const w = balancedWeights(p.y, p.known, p.rows.length, k);
  p.weight.forEach((f, i) => {
    if (f !== 1) for (let j = 0; j < k; j++) w[i * k + j] *= f;
  });
  return w;
}

/** Fits a head on `rows` (all examples by default); `validationRows` gives the curve's validation loss. */
export function fit(ex: Examples, settings: TrainSettings, rows?: number[], validationRows?: number[]): Fit {
  const all = rows ?? ex.embeddings.map((_, i) => i);
  if (all.length === 0) throw new RangeError('no training examples');
  const train = pick(ex, all, true);
  const n = train.rows.length;
  const dim = train.embeddings[0].length;
  const mean = meanVector(stack(train.embeddings), n, dim);
  const x = featureMatrix(train.embeddings, mean);
  let validation;
  if (validationRows && validationRows.length > 0) {
    const v = pick(ex, validationRows);
    validation = { x: featureMatrix(v.embeddings, mean), y: v.y, w: exampleWeights(v, ex.k), n: validationRows.length };
  }
  // Two heads on the same features: with fewer than 2 x dim examples the Gram form is the cheaper for both (see
  // trainLogistic), and one Gram matrix serves both.
  const withSubject = ex.subject !== undefined && (ex.subjects ?? 0) > 0;
  const shared = withSubject && n < 2 * dim ? gram(x, n, dim) : undefined;
  const { model, curve } = trainLogistic(x, train.y, exampleWeights(train, ex.k), n, dim, ex.k, { l2: settings.l2, iterations: settings.iterations, validation, gram: shared });
  // The memory keeps the examples themselves: the first all.length rows of the training set (augmented copies follow).
  const memory = settings.memory ? buildMemory(x.subarray(0, all.length * dim), train.y, train.known, all.length, dim, ex.k, settings.memory) : undefined;
  return {
    mean,
    linear: model,
    curve,
    ...(withSubject ? { subject: fitSubject(x, train.rows, ex.subject!, ex.subjects!, dim, settings, shared) } : {}),
    ...(memory ? { memory } : {}),
  };
}

/** The softmax subject head: classes weighted equally (each class's examples share the same total weight). */
function fitSubject(x: Float32Array, rows: number[], subject: Int32Array, classes: number, dim: number, settings: TrainSettings, shared?: Float64Array): LogisticModel {
  const n = rows.length;
  const y = new Float32Array(n * classes);
  const count = new Float64Array(classes);
  rows.forEach((r, i) => {
    if (subject[r] >= 0) {
      y[i * classes + subject[r]] = 1;
      count[subject[r]]++;
    }
  });
  const w = Float32Array.from(rows, (r) => (subject[r] >= 0 ? 1 / count[subject[r]] : 0));
  return trainSoftmax(x, y, w, n, dim, classes, { l2: settings.l2, iterations: settings.subjectIterations ?? 300, curveEvery: 1e9, gram: shared }).model;
}

function stack(rows: readonly Float32Array[]): Float32Array {
  const dim = rows[0]?.length ?? 0;
  const out = new Float32Array(rows.length * dim);
  rows.forEach((r, i) => out.set(r, i * dim));
  return out;
}

/** Scores of `rows` by a fit (n x k): the logistic head's, blended with the memory's votes when it has one. */
export function scoreRows(f: Fit, embeddings: readonly Float32Array[], rows: number[]): Float32Array {
  return scoreRowsBoth(f, embeddings, rows).scores;
}

/** The blended scores of `rows` and the logistic head's alone (the same array without a memory), n x k each. */
export function scoreRowsBoth(f: Fit, embeddings: readonly Float32Array[], rows: number[]): { scores: Float32Array; logistic: Float32Array } {
  const x = featureMatrix(rows.map((r) => embeddings[r] as Float32Array), f.mean);
  const logistic = predict(f.linear, x, rows.length);
  const memory = f.memory;
  if (!memory) return { scores: logistic, logistic };
  const scores = logistic.slice();
  const dim = f.mean.length;
  const k = f.linear.outputs;
  rows.forEach((_, i) => blendScores(scores.subarray(i * k, (i + 1) * k), memoryVotes(memory, x.subarray(i * dim, (i + 1) * dim)), memory.settings.blend));
  return { scores, logistic };
}

/** Subject probabilities of `rows` by a fit's subject head (n x subjects). */
export function subjectRows(f: Fit, embeddings: readonly Float32Array[], rows: number[]): Float32Array {
  if (!f.subject) throw new RangeError('this fit has no subject head');
  const x = featureMatrix(rows.map((r) => embeddings[r] as Float32Array), f.mean);
  return predictSoftmax(f.subject, x, rows.length);
}

export interface CrossValidation {
  /** Examples that were held out in turn (the others are always trained on). */
  rows: number[];
  /** Fold of each of `rows`. */
  fold: Int32Array;
  /** Out-of-fold scores, rows.length x k. */
  scores: Float32Array;
  /** Out-of-fold scores of the logistic head alone (without the memory's vote; `scores` itself without a memory). */
  logistic: Float32Array;
  /** Validation curves of each fold. */
  curves: TrainingCurve[];
  /** Out-of-fold subject probabilities, rows.length x subjects (when the examples have subjects). */
  subjects?: Float32Array;
}

/**
 * k-fold cross-validation over `cvRows` (stratification-free, seeded): each fold trains on every other example
 * (including those outside `cvRows`) and scores the held-out fold.
 */
export function crossValidate(ex: Examples, settings: TrainSettings, cvRows: number[]): CrossValidation {
  const fold = assignFolds(cvRows.length, settings.folds, settings.seed);
  const scores = new Float32Array(cvRows.length * ex.k);
  const logistic = settings.memory ? new Float32Array(cvRows.length * ex.k) : scores;
  const s = ex.subjects ?? 0;
  const subjects = ex.subject && s > 0 ? new Float32Array(cvRows.length * s) : undefined;
  const curves: TrainingCurve[] = [];
  for (let f = 0; f < settings.folds; f++) {
    const held = cvRows.filter((_, i) => fold[i] === f);
    if (held.length === 0) continue;
    const heldSet = new Set(held);
    const train = ex.embeddings.map((_, i) => i).filter((i) => !heldSet.has(i));
    const model = fit(ex, settings, train, held);
    curves.push(model.curve);
    const got = scoreRowsBoth(model, ex.embeddings, held);
    const gotSubjects = subjects ? subjectRows(model, ex.embeddings, held) : undefined;
    let h = 0;
    cvRows.forEach((_, i) => {
      if (fold[i] !== f) return;
      scores.set(got.scores.subarray(h * ex.k, (h + 1) * ex.k), i * ex.k);
      if (logistic !== scores) logistic.set(got.logistic.subarray(h * ex.k, (h + 1) * ex.k), i * ex.k);
      if (subjects && gotSubjects) subjects.set(gotSubjects.subarray(h * s, (h + 1) * s), i * s);
      h++;
    });
  }
  return { rows: cvRows, fold, scores, logistic, curves, ...(subjects ? { subjects } : {}) };
}

export interface ConceptReport {
  /** Threshold chosen on every out-of-fold score (the one shipped). */
  threshold: number;
  /** Quality of out-of-fold scores, each fold thresholded by a threshold chosen on the other folds only. */
  heldOut: Quality;
  /** Quality at the shipped threshold (optimistic: chosen on the same scores). */
  atThreshold: Quality;
  positives: number;
  examples: number;
}

/** The (scores, truth) of concept j over the cross-validated rows in `which` (known labels only). */
function column(ex: Examples, cv: CrossValidation, j: number, which: (i: number) => boolean, decided?: Decided): { scores: number[]; truth: boolean[] } {
  const scores: number[] = [];
  const truth: boolean[] = [];
  cv.rows.forEach((r, i) => {
    if (!which(i) || ex.known[r * ex.k + j] !== 1) return;
    const fixed = decided?.(r, j);
    scores.push(fixed === undefined ? cv.scores[i * ex.k + j] : fixed ? Infinity : -Infinity);
    truth.push(ex.y[r * ex.k + j] > 0.5);
  });
  return { scores, truth };
}

/** A decision taken elsewhere for (row, concept), e.g. person/group/portrait from face and person detection. */
export type Decided = (row: number, j: number) => boolean | undefined;

/**
 * Per-concept thresholds (shrunk toward one global threshold, see `shrunkThresholds`) chosen on every
 * out-of-fold score, and honest held-out quality: each fold is thresholded by thresholds chosen on the other
 * folds' out-of-fold scores only. `subset` limits the rows the quality is reported on; `decided` overrides the
 * thresholded head for some (row, concept) pairs in the reported quality (the tags the product outputs).
 */
export function reportCrossValidation(ex: Examples, cv: CrossValidation, folds: number, subset?: (row: number) => boolean, prior = 50, decided?: Decided): ConceptReport[] {
  const k = ex.k;
  const all = Array.from({ length: k }, (_, j) => column(ex, cv, j, () => true));
  const shipped = shrunkThresholds(all, prior).thresholds;
  const counts: Counts[] = Array.from({ length: k }, () => ({ tp: 0, fp: 0, fn: 0 }));
  const atT: Counts[] = Array.from({ length: k }, () => ({ tp: 0, fp: 0, fn: 0 }));
  const reported = (i: number): boolean => !subset || subset(cv.rows[i]);
  for (let f = 0; f < folds; f++) {
    const nested = shrunkThresholds(
      Array.from({ length: k }, (_, j) => column(ex, cv, j, (i) => cv.fold[i] !== f)),
      prior,
    ).thresholds;
    for (let j = 0; j < k; j++) {
      const mine = column(ex, cv, j, (i) => cv.fold[i] === f && reported(i), decided);
      for (const [into, t] of [
        [counts[j], nested[j]],
        [atT[j], shipped[j]],
      ] as const) {
        const c = countAt(mine.scores, mine.truth, t);
        into.tp += c.tp;
        into.fp += c.fp;
        into.fn += c.fn;
      }
    }
  }
  return Array.from({ length: k }, (_, j) => {
    const mine = column(ex, cv, j, reported);
    return {
      threshold: shipped[j],
      heldOut: quality(counts[j]),
      atThreshold: quality(atT[j]),
      positives: mine.truth.filter(Boolean).length,
      examples: mine.truth.length,
    };
  });
}

export function microHeldOut(reports: ConceptReport[]): Quality {
  return microAverage(reports.map((r) => r.heldOut));
}
