// Evaluation of a model with the taxonomy on labelled predictions: top-1/5, hedged accuracy and information gain, mistake severity.
import { calibrateSample, hedgeStats, prepareSample, truthLabels, type Calibration, type CalibrationBound } from './hedge.js';
import type { Hierarchy } from './hierarchy.js';
import { topLabels, type ScoreRule } from './score.js';

export interface HedgedReport {
  target: number;
  lambda: number;
  /** Share of photos whose true label lies under the hedged node. */
  accuracy: number;
  /** Reward log2(#labels / #labels under node) when right, 0 when wrong, averaged over photos. */
  mean_info_gain_bits: number;
  /** Share of hedged answers that are a label (a leaf). */
  leaf_share: number;
}

export interface RuleReport {
  rule: ScoreRule;
  n: number;
  top1: number;
  top5: number;
  hedged: HedgedReport | null;
  /**
   * Over top-1 errors: mean height of the lowest common ancestor of the top-1 label and the truth
   * (height = longest path from the node down to a label; 1 = siblings under one parent).
   */
  mistake_severity: number;
}

/** `sum` results at the top level (the product's rule), the report's `mean` rule beside them. */
export interface EvalReport extends RuleReport {
  mean: RuleReport;
}

/** Leaf-level metrics (the same under both rules). */
export function leafMetrics(hierarchy: Hierarchy, predictions: ReadonlyArray<ArrayLike<number>>, truths: Int32Array): { top1: number; top5: number; mistakeSeverity: number } {
  let top1 = 0;
  let top5 = 0;
  let severity = 0;
  let errors = 0;
  predictions.forEach((p, i) => {
    const best = topLabels(p, 5);
    if (best[0] === truths[i]) top1++;
    else {
      const lca = hierarchy.lowestCommonAncestor(hierarchy.leafNode[best[0]], hierarchy.leafNode[truths[i]]);
      severity += hierarchy.height[lca.node];
      errors++;
    }
    if (best.includes(truths[i])) top5++;
  });
  const n = predictions.length || 1;
  return { top1: top1 / n, top5: top5 / n, mistakeSeverity: errors ? severity / errors : 0 };
}

/**
 * Evaluates predictions against truths (label indexes or wnids) with a calibration per rule.
 * A rule whose calibration is missing reports `hedged: null`.
 */
export function evaluate(
  predictions: ReadonlyArray<ArrayLike<number>>,
  truths: ReadonlyArray<number | string>,
  hierarchy: Hierarchy,
  calibrations: { sum?: Calibration | null; mean?: Calibration | null },
): EvalReport {
  const labels = truthLabels(hierarchy, truths);
  const leaf = leafMetrics(hierarchy, predictions, labels);
  const forRule = (rule: ScoreRule): RuleReport => {
    const cal = calibrations[rule];
    let hedged: HedgedReport | null = null;
    if (cal) {
      const s = hedgeStats(prepareSample(hierarchy, predictions, labels, rule), cal.lambda);
      hedged = { target: cal.target, lambda: cal.lambda, accuracy: s.accuracy, mean_info_gain_bits: s.meanInfoGainBits, leaf_share: s.leafShare };
    }
    return { rule, n: predictions.length, top1: leaf.top1, top5: leaf.top5, hedged, mistake_severity: leaf.mistakeSeverity };
  };
  return { ...forRule('sum'), mean: forRule('mean') };
}

/** k-fold cross-validation of calibration inside one labelled set: calibrate on k-1 folds, measure on the rest. */
export function crossValidate(
  predictions: ReadonlyArray<ArrayLike<number>>,
  truths: ReadonlyArray<number | string>,
  hierarchy: Hierarchy,
  opts: { target: number; rule?: ScoreRule; bound?: CalibrationBound; confidence?: number; folds?: number },
): { folds: number; accuracy: number; mean_info_gain_bits: number; leaf_share: number; lambdas: number[] } {
  const folds = opts.folds ?? 5;
  const sample = prepareSample(hierarchy, predictions, truths, opts.rule ?? 'sum');
  const n = predictions.length;
  let correct = 0;
  let gain = 0;
  let leaves = 0;
  const lambdas: number[] = [];
  for (let f = 0; f < folds; f++) {
    const train: number[] = [];
    const test: number[] = [];
    for (let i = 0; i < n; i++) (i % folds === f ? test : train).push(i);
    const cal = calibrateSample(sample, opts.target, { bound: opts.bound, confidence: opts.confidence, only: train });
    lambdas.push(cal.lambda);
    const s = hedgeStats(sample, cal.lambda, test);
    correct += s.correct;
    gain += s.meanInfoGainBits * s.n;
    leaves += s.leafShare * s.n;
  }
  return { folds, accuracy: correct / n, mean_info_gain_bits: gain / n, leaf_share: leaves / n, lambdas };
}
