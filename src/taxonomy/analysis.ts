// One prediction -> the PhotoAnalysis the library stores: top labels, hedged label, sparse node scores, categories.
import type { CategoryScore, Label, ModelRef, NodeScore, PhotoAnalysis } from './photo-analysis.js';
import { applyPolicyToCategories, applyPolicyToHedged, applyPolicyToLabels, displayName, type LabelPolicy } from './policy.js';
import { scoreCategories, type Categories } from './categories.js';
import { hedge, type Calibration } from './hedge.js';
import type { Hierarchy } from './hierarchy.js';
import { scoreNodes, topLabels, topNodes } from './score.js';

export { loadTaxonomy, loadHierarchy, type Taxonomy } from './load.js';

/** What analysis needs of a prediction (the vision engine's Prediction fits). */
export interface PredictionInput {
  probs: Float32Array;
  embedding?: Float32Array;
  model?: ModelRef;
}

export interface AnalyzeOptions {
  hierarchy: Hierarchy;
  /** Without one, `hedged` is null. */
  calibration?: Calibration | null;
  policy?: LabelPolicy;
  categories?: Categories;
  /** Raw labels to keep (default 5). */
  top?: number;
  /** Smallest node / category score kept (default 0.01). */
  floor?: number;
  /** Used when the prediction carries no model. */
  model?: ModelRef;
}

/** Lifts one prediction through the hierarchy (the `sum` rule) and applies calibration, policy and categories. */
export function analyzePrediction(prediction: PredictionInput, opts: AnalyzeOptions): PhotoAnalysis {
  const { hierarchy, policy, calibration } = opts;
  const top = opts.top ?? 5;
  const floor = opts.floor ?? 0.01;
  const probs = prediction.probs;
  const scores = scoreNodes(hierarchy, probs, 'sum');

  // A few spare candidates so labels held back by the policy can be replaced by the next best.
  const order = topLabels(probs, Math.min(probs.length, top + 20));
  let labels: Label[] = [];
  for (const index of order) {
    if (labels.length >= top) break;
    const raw: Label = { wnid: hierarchy.labelSet.wnids[index], index, name: hierarchy.labelSet.names[index], score: probs[index] };
    labels.push(...(policy ? applyPolicyToLabels(policy, [raw]) : [raw]));
  }

  let hedged: PhotoAnalysis['hedged'] = null;
  if (calibration) {
    const values = calibration.rule === 'mean' ? scoreNodes(hierarchy, probs, 'mean').values : scores.values;
    const chosen = hedge(hierarchy, values, calibration.lambda);
    const shown = policy ? applyPolicyToHedged(policy, chosen, scores.values) : chosen;
    if (shown !== undefined) {
      hedged = {
        wnid: hierarchy.wnids[shown],
        name: policy ? displayName(policy, shown) : hierarchy.names[shown],
        score: scores.values[shown],
        target: calibration.target,
      };
    }
  }

  const nodeScores: NodeScore[] = topNodes(scores, floor).map(({ wnid, score }) => ({ wnid, score }));

  let categories: CategoryScore[] = [];
  if (opts.categories) {
    categories = scoreCategories(opts.categories, scores).filter((c) => c.score >= floor);
    if (policy) categories = applyPolicyToCategories(policy, categories);
  }
  labels = labels.slice(0, top);

  const model = prediction.model ?? opts.model;
  if (!model) throw new Error('analyzePrediction: the prediction names no model and none was given');
  return {
    model: { id: model.id, sha256: model.sha256 },
    labels,
    hedged,
    nodeScores,
    categories,
    embedding: prediction.embedding ?? new Float32Array(0),
  };
}

/** The hedged node's primary-hypernym chain up to `entity` (the node first), with display names. */
export function hedgedPath(hierarchy: Hierarchy, wnid: string, policy?: LabelPolicy): Array<{ wnid: string; name: string }> {
  const node = hierarchy.node(wnid);
  if (node === undefined) return [];
  // Synsets the policy suppresses are never shown, on the path either (a coffee cup's path skips punch,
  // mixed drink and alcohol).
  return hierarchy
    .primaryPath(node)
    .filter((n, i) => i === 0 || !policy || policy.minScore[n] !== Infinity)
    .map((n) => ({ wnid: hierarchy.wnids[n], name: policy ? displayName(policy, n) : hierarchy.names[n] }));
}
