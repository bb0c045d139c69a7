// Hedged labels (DARTS, Deng et al., CVPR 2012): the most specific node that is right with a calibrated probability.
import { clopperPearsonLower } from './binomial.js';
import type { Hierarchy } from './hierarchy.js';
import { scoreNodes, type ScoreRule } from './score.js';

/** argmax over nodes of (reward(v) + lambda) * score(v); ties go to the more specific node. */
export function hedge(hierarchy: Hierarchy, values: Float32Array, lambda: number): number {
  const { reward } = hierarchy;
  let best = hierarchy.root;
  let bestGain = -Infinity;
  for (let n = 0; n < values.length; n++) {
    const v = values[n];
    if (v <= 0) continue;
    const gain = (reward[n] + lambda) * v;
    if (gain > bestGain || (gain === bestGain && reward[n] > reward[best])) { bestGain = gain; best = n; }
  }
  return best;
}

/** How a calibration treats the finite sample. */
export type CalibrationBound = 'clopper-pearson' | 'none';

/** A stored lambda for one model, label set, scoring rule and accuracy target. */
export interface Calibration {
  modelId: string;
  labelSet: string;
  rule: ScoreRule;
  /** The accuracy target 1 - epsilon. */
  target: number;
  lambda: number;
  /** 'clopper-pearson': the one-sided lower bound of the sample accuracy meets the target; 'none': the sample accuracy does. */
  bound: CalibrationBound;
  confidence: number;
  /** Whether any lambda met the target (false: lambda is the largest tried). */
  met: boolean;
  /** On the calibration sample, at lambda: */
  n: number;
  accuracy: number;
  lowerBound: number;
  meanInfoGainBits: number;
  createdAt: string;
  /** Provenance, when known: the model file's sha256 and the labelled set used. */
  modelSha256?: string;
  dataset?: string;
}

/** Predictions prepared for repeated hedging: node scores per photo and the true label. */
export interface HedgeSample {
  hierarchy: Hierarchy;
  rule: ScoreRule;
  values: Float32Array[];
  truths: Int32Array;
}

/** Resolves truths given as label indexes or wnids to label indexes. */
export function truthLabels(hierarchy: Hierarchy, truths: ArrayLike<number | string>): Int32Array {
  return Int32Array.from(truths, (t) => {
    if (typeof t === 'number') return t;
    const n = hierarchy.node(t);
    const l = n === undefined ? -1 : hierarchy.labelAt[n];
    if (l < 0) throw new Error(`truth ${t} is not a label of ${hierarchy.labelSet.id}`);
    return l;
  });
}

export function prepareSample(
  hierarchy: Hierarchy,
  predictions: ReadonlyArray<ArrayLike<number>>,
  truths: ArrayLike<number | string>,
  rule: ScoreRule = 'sum',
): HedgeSample {
  if (predictions.length !== truths.length) throw new Error(`${predictions.length} predictions but ${truths.length} truths`);
  return { hierarchy, rule, values: predictions.map((p) => scoreNodes(hierarchy, p, rule).values), truths: truthLabels(hierarchy, truths) };
}

/** Hedged accuracy and information gain (reward when right, 0 when wrong) of one lambda on a sample. */
export function hedgeStats(sample: HedgeSample, lambda: number, only?: ArrayLike<number>): {
  n: number; correct: number; accuracy: number; meanInfoGainBits: number; leafShare: number;
} {
  const { hierarchy, values, truths } = sample;
  const rows = only ?? Array.from(values.keys());
  let correct = 0;
  let gain = 0;
  let leaves = 0;
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    const node = hedge(hierarchy, values[r], lambda);
    if (hierarchy.labelAt[node] >= 0) leaves++;
    if (hierarchy.isUnder(truths[r], node)) { correct++; gain += hierarchy.reward[node]; }
  }
  const n = rows.length;
  return { n, correct, accuracy: n ? correct / n : 0, meanInfoGainBits: n ? gain / n : 0, leafShare: n ? leaves / n : 0 };
}

export interface CalibrateOptions {
  hierarchy: Hierarchy;
  rule?: ScoreRule;
  bound?: CalibrationBound;
  /** Confidence of the lower bound (default 0.95). */
  confidence?: number;
  modelId?: string;
  /** Restrict to these sample rows (cross-validation). */
  only?: ArrayLike<number>;
}

/** Smallest lambda (binary search) whose hedged accuracy meets the target on a prepared sample. */
export function calibrateSample(sample: HedgeSample, target: number, opts: Omit<CalibrateOptions, 'hierarchy' | 'rule'> = {}): Calibration {
  const bound = opts.bound ?? 'clopper-pearson';
  const confidence = opts.confidence ?? 0.95;
  const meets = (lambda: number) => {
    const s = hedgeStats(sample, lambda, opts.only);
    const lower = bound === 'none' ? s.accuracy : clopperPearsonLower(s.correct, s.n, confidence);
    return { ok: lower >= target, lower, s };
  };
  let lambda = 0;
  let result = meets(0);
  let met = result.ok;
  if (!met) {
    let lo = 0;
    let hi = 1;
    let atHi = meets(hi);
    while (!atHi.ok && hi < 2 ** 24) { lo = hi; hi *= 2; atHi = meets(hi); }
    met = atHi.ok;
    if (met) {
      for (let it = 0; it < 50 && hi - lo > 1e-9 * Math.max(1, hi); it++) {
        const mid = (lo + hi) / 2;
        const m = meets(mid);
        if (m.ok) { hi = mid; atHi = m; } else lo = mid;
      }
    }
    lambda = hi;
    result = atHi;
  }
  return {
    modelId: opts.modelId ?? 'unknown',
    labelSet: sample.hierarchy.labelSet.id,
    rule: sample.rule,
    target,
    lambda,
    bound,
    confidence,
    met,
    n: result.s.n,
    accuracy: result.s.accuracy,
    lowerBound: result.lower,
    meanInfoGainBits: result.s.meanInfoGainBits,
    createdAt: new Date().toISOString(),
  };
}

/**
 * Finds lambda for a target accuracy on labelled predictions (probabilities per label, in label-set
 * order; truths as label indexes or wnids).
 */
export function calibrate(
  predictions: ReadonlyArray<ArrayLike<number>>,
  truths: ReadonlyArray<number | string>,
  target: number,
  opts: CalibrateOptions,
): Calibration {
  const sample = prepareSample(opts.hierarchy, predictions, truths, opts.rule ?? 'sum');
  return calibrateSample(sample, target, opts);
}
