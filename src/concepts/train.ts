// Training heads: fit (centre, normalise, balanced logistic regression), k-fold cross-validation with
// out-of-fold scores, and per-concept thresholds chosen on scores the head never trained on.
import { featureMatrix, meanVector } from './features.js';
import { balancedWeights, predict, trainLogistic, type LogisticModel, type TrainingCurve } from './logistic.js';
import { assignFolds, countAt, microAverage, quality, shrunkThresholds, type Counts, type Quality } from './metrics.js';

export interface TrainSettings {
  l2: number;
  iterations: number;
  folds: number;
  seed: number;
}

export const DEFAULT_SETTINGS: TrainSettings = { l2: 1e-3, iterations: 100, folds: 5, seed: 10 };

/** Labelled examples for k concepts: y and known are n x k row-major. */
export interface Examples {
  embeddings: readonly Float32Array[];
  y: Float32Array;
  known: Uint8Array;
  k: number;
}

export interface Fit {
  mean: Float32Array;
  linear: LogisticModel;
  curve: TrainingCurve;
}

function pick(ex: Examples, rows: number[]): { embeddings: Float32Array[]; y: Float32Array; known: Uint8Array } {
  const k = ex.k;
  const y = new Float32Array(rows.length * k);
  const known = new Uint8Array(rows.length * k);
  rows.forEach((r, i) => {
    y.set(ex.y.subarray(r * k, (r + 1) * k), i * k);
    known.set(ex.known.subarray(r * k, (r + 1) * k), i * k);
  });
  return { embeddings: rows.map((r) => ex.embeddings[r] as Float32Array), y, known };
}

/** Fits a head on `rows` (all examples by default); `validationRows` gives the curve's validation loss. */
export function fit(ex: Examples, settings: TrainSettings, rows?: number[], validationRows?: number[]): Fit {
  const all = rows ?? ex.embeddings.map((_, i) => i);
  if (all.length === 0) throw new RangeError('no training examples');
  const train = pick(ex, all);
  const dim = train.embeddings[0].length;
  const mean = meanVector(stack(train.embeddings), all.length, dim);
  const x = featureMatrix(train.embeddings, mean);
  const w = balancedWeights(train.y, train.known, all.length, ex.k);
  let validation;
  if (validationRows && validationRows.length > 0) {
    const v = pick(ex, validationRows);
    validation = { x: featureMatrix(v.embeddings, mean), y: v.y, w: balancedWeights(v.y, v.known, validationRows.length, ex.k), n: validationRows.length };
  }
  const { model, curve } = trainLogistic(x, train.y, w, all.length, dim, ex.k, { l2: settings.l2, iterations: settings.iterations, validation });
  return { mean, linear: model, curve };
}

function stack(rows: readonly Float32Array[]): Float32Array {
  const dim = rows[0]?.length ?? 0;
  const out = new Float32Array(rows.length * dim);
  rows.forEach((r, i) => out.set(r, i * dim));
  return out;
}

/** Scores of `rows` by a fit (n x k). */
export function scoreRows(f: Fit, embeddings: readonly Float32Array[], rows: number[]): Float32Array {
  const x = featureMatrix(rows.map((r) => embeddings[r] as Float32Array), f.mean);
  return predict(f.linear, x, rows.length);
}

export interface CrossValidation {
  /** Examples that were held out in turn (the others are always trained on). */
  rows: number[];
  /** Fold of each of `rows`. */
  fold: Int32Array;
  /** Out-of-fold scores, rows.length x k. */
  scores: Float32Array;
  /** Validation curves of each fold. */
  curves: TrainingCurve[];
}

/**
 * k-fold cross-validation over `cvRows` (stratification-free, seeded): each fold trains on every other example
 * (including those outside `cvRows`) and scores the held-out fold.
 */
export function crossValidate(ex: Examples, settings: TrainSettings, cvRows: number[]): CrossValidation {
  const fold = assignFolds(cvRows.length, settings.folds, settings.seed);
  const scores = new Float32Array(cvRows.length * ex.k);
  const inCv = new Set(cvRows);
  const curves: TrainingCurve[] = [];
  for (let f = 0; f < settings.folds; f++) {
    const held = cvRows.filter((_, i) => fold[i] === f);
    if (held.length === 0) continue;
    const heldSet = new Set(held);
    const train = ex.embeddings.map((_, i) => i).filter((i) => !heldSet.has(i));
    const model = fit(ex, settings, train, held);
    curves.push(model.curve);
    const s = scoreRows(model, ex.embeddings, held);
    let h = 0;
    cvRows.forEach((_, i) => {
      if (fold[i] === f) scores.set(s.subarray(h * ex.k, ++h * ex.k), i * ex.k);
    });
  }
  void inCv;
  return { rows: cvRows, fold, scores, curves };
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
function column(ex: Examples, cv: CrossValidation, j: number, which: (i: number) => boolean): { scores: number[]; truth: boolean[] } {
  const scores: number[] = [];
  const truth: boolean[] = [];
  cv.rows.forEach((r, i) => {
    if (!which(i) || ex.known[r * ex.k + j] !== 1) return;
    scores.push(cv.scores[i * ex.k + j]);
    truth.push(ex.y[r * ex.k + j] > 0.5);
  });
  return { scores, truth };
}

/**
 * Per-concept thresholds (shrunk toward one global threshold, see `shrunkThresholds`) chosen on every
 * out-of-fold score, and honest held-out quality: each fold is thresholded by thresholds chosen on the other
 * folds' out-of-fold scores only. `subset` limits the rows the quality is reported on.
 */
export function reportCrossValidation(ex: Examples, cv: CrossValidation, folds: number, subset?: (row: number) => boolean, prior = 50): ConceptReport[] {
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
      const mine = column(ex, cv, j, (i) => cv.fold[i] === f && reported(i));
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
