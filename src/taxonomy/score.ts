// Node scores: a prediction's leaf probabilities lifted onto every node of the hierarchy (`sum` or `mean`).
import type { Hierarchy } from './hierarchy.js';

/**
 * - `sum`: p(node) = sum of the probabilities of the labels under it, each label once (a probability).
 * - `mean`: the seed report's rule: a node's value is the mean of its children's values (a label's
 *   value is its probability; a label that also has children counts its own probability as one more child).
 */
export type ScoreRule = 'sum' | 'mean';

export interface NodeScores {
  rule: ScoreRule;
  hierarchy: Hierarchy;
  /** One value per node index. */
  values: Float32Array;
  /** Value of a synset by wnid (0 for synsets outside the hierarchy). */
  get(wnid: string): number;
}

const scratch = new Map<Hierarchy, Float64Array>();

/** Lifts leaf probabilities (one per label, in label-set order) onto the hierarchy. Pass `out` to reuse a buffer. */
export function scoreNodes(hierarchy: Hierarchy, probs: ArrayLike<number>, rule: ScoreRule = 'sum', out?: Float32Array): NodeScores {
  if (probs.length !== hierarchy.labelCount) {
    throw new Error(`expected ${hierarchy.labelCount} probabilities for ${hierarchy.labelSet.id}, got ${probs.length}`);
  }
  let acc = scratch.get(hierarchy);
  if (!acc) { acc = new Float64Array(hierarchy.size); scratch.set(hierarchy, acc); }
  acc.fill(0);
  if (rule === 'sum') {
    const { ancestorStart, ancestorList } = hierarchy;
    for (let l = 0; l < hierarchy.labelCount; l++) {
      const p = probs[l];
      if (p === 0) continue;
      for (let k = ancestorStart[l], end = ancestorStart[l + 1]; k < end; k++) acc[ancestorList[k]] += p;
    }
  } else if (rule === 'mean') {
    const { bottomUp, children, labelAt } = hierarchy;
    for (let i = 0; i < bottomUp.length; i++) {
      const n = bottomUp[i];
      const kids = children[n];
      const own = labelAt[n] >= 0 ? 1 : 0;
      let total = own ? probs[labelAt[n]] : 0;
      for (let k = 0; k < kids.length; k++) total += acc[kids[k]];
      acc[n] = total / (kids.length + own);
    }
  } else {
    throw new Error(`unknown score rule '${String(rule)}'`);
  }
  const values = out ?? new Float32Array(hierarchy.size);
  values.set(acc);
  return {
    rule,
    hierarchy,
    values,
    get: (wnid) => {
      const n = hierarchy.node(wnid);
      return n === undefined ? 0 : values[n];
    },
  };
}

/** Sparse scores: nodes at or above `floor`, best first (ties: more specific first). */
export function topNodes(scores: NodeScores, floor = 0.01): Array<{ node: number; wnid: string; score: number }> {
  const { hierarchy, values } = scores;
  const out: Array<{ node: number; wnid: string; score: number }> = [];
  for (let n = 0; n < values.length; n++) if (values[n] >= floor) out.push({ node: n, wnid: hierarchy.wnids[n], score: values[n] });
  return out.sort((a, b) => b.score - a.score || hierarchy.leaves[a.node].length - hierarchy.leaves[b.node].length);
}

/** Indexes of the k largest probabilities, best first (ties: lower index first). */
export function topLabels(probs: ArrayLike<number>, k: number): number[] {
  const best: number[] = [];
  for (let i = 0; i < probs.length; i++) {
    if (best.length === k && probs[i] <= probs[best[k - 1]]) continue;
    let at = best.length;
    while (at > 0 && probs[best[at - 1]] < probs[i]) at--;
    best.splice(at, 0, i);
    if (best.length > k) best.pop();
  }
  return best;
}
