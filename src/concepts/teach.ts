// Training one custom concept from example embeddings: a validation split for the curves and the diagnosis
// (too few examples, unbalanced, over- or under-fitting), a threshold, then a head fitted on every example.
import { Head } from './head.js';
import type { TrainingCurve } from './logistic.js';
import { assignFolds, countAt, quality, shrunkThresholds, type Quality } from './metrics.js';
import { fit, scoreRows } from './train.js';

export interface TeachReport {
  positives: number;
  negatives: number;
  /** Train and validation loss every 10 steps (validation: a seeded fifth of the examples, held out). */
  curve: TrainingCurve;
  validation: Quality & { examples: number };
  threshold: number;
  diagnosis: string[];
  /** Gradient steps of the final fit: where the validation loss was lowest (early stopping). */
  steps?: number;
}

export const TEACH_SETTINGS = { l2: 1e-3, iterations: 100, folds: 5, seed: 10 };

/** Words for what the curves and counts say (the report's checklist). */
export function diagnose(positives: number, negatives: number, curve: TrainingCurve): string[] {
  const out: string[] = [];
  if (positives < 5) out.push(`too few examples: ${positives} positive${positives === 1 ? '' : 's'} (aim for 10 or more)`);
  if (negatives < 5) out.push(`too few negatives: ${negatives} (add --negative photos or ingest more photos)`);
  const ratio = negatives / Math.max(1, positives);
  if (ratio > 20 || ratio < 1 / 20) out.push(`unbalanced: ${positives} positives vs ${negatives} negatives (classes are reweighted to count equally)`);
  const last = curve.step.length - 1;
  if (last >= 0 && curve.validation.length > 0) {
    const train = curve.train[last];
    const val = curve.validation[last];
    const bestVal = Math.min(...curve.validation);
    if (train > 0.45) out.push(`under-fitting: training loss stays at ${train.toFixed(2)} (the examples may not share a visual concept)`);
    else if (val - train > 0.25 || val > bestVal + 0.05) out.push(`over-fitting: validation loss ${val.toFixed(2)} vs training loss ${train.toFixed(2)} (add varied examples)`);
  }
  if (out.length === 0) out.push('looks healthy: training and validation losses fall together');
  return out;
}

/**
 * Fits a one-concept head for `id` from positive and negative embeddings of `model`. Throws RangeError on
 * zero positives or zero negatives (nothing is trained).
 */
export function teachHead(
  concept: { id: string; name: string; wnid: string },
  model: { id: string; sha256: string },
  positives: readonly Float32Array[],
  negatives: readonly Float32Array[],
): { head: Head; report: TeachReport } {
  if (positives.length === 0) throw new RangeError('a concept needs at least one positive example');
  if (negatives.length === 0) throw new RangeError('a concept needs negative examples: pass --negative photos or ingest other photos for the owner');
  const embeddings = [...positives, ...negatives];
  const n = embeddings.length;
  const y = new Float32Array(n);
  y.fill(1, 0, positives.length);
  const ex = { embeddings, y, known: new Uint8Array(n).fill(1), k: 1 };
  // Validation: one seeded fifth of each class (at least one example of each when there are two or more).
  const pf = assignFolds(positives.length, 5, TEACH_SETTINGS.seed);
  const nf = assignFolds(negatives.length, 5, TEACH_SETTINGS.seed + 1);
  const held: number[] = [];
  const train: number[] = [];
  for (let i = 0; i < n; i++) {
    const isPos = i < positives.length;
    const fold = isPos ? pf[i] : nf[i - positives.length];
    const size = isPos ? positives.length : negatives.length;
    (fold === 0 && size >= 2 ? held : train).push(i);
  }
  const split = fit(ex, TEACH_SETTINGS, train, held);
  const heldScores = held.length > 0 ? Array.from(scoreRows(split, embeddings, held)) : [];
  const heldTruth = held.map((i) => i < positives.length);
  const { thresholds } = shrunkThresholds([{ scores: heldScores, truth: heldTruth }], 10);
  const threshold = heldTruth.some(Boolean) ? thresholds[0] : 0.5;
  const validation = { ...quality(countAt(heldScores, heldTruth, threshold)), examples: held.length };
  // Early stopping: the final fit (on every example) stops where the held-out loss was lowest (at least 20 steps).
  const steps = bestStep(split.curve);
  const final = fit(ex, { ...TEACH_SETTINGS, iterations: steps });
  const head = new Head('custom', model, [{ ...concept, threshold }], final.mean, final.linear, { ...TEACH_SETTINGS, positives: positives.length, negatives: negatives.length });
  return {
    head,
    report: { positives: positives.length, negatives: negatives.length, curve: split.curve, validation, threshold, diagnosis: diagnose(positives.length, negatives.length, split.curve), steps },
  };
}

/** The recorded step with the lowest validation loss (ties: the earlier), at least 20; all steps without a curve. */
export function bestStep(curve: TrainingCurve, min = 20): number {
  if (curve.validation.length === 0) return TEACH_SETTINGS.iterations;
  let best = -1;
  curve.step.forEach((s, i) => {
    if (s >= min && (best < 0 || curve.validation[i] < curve.validation[best])) best = i;
  });
  return best < 0 ? TEACH_SETTINGS.iterations : curve.step[best];
}
