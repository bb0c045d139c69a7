// Loading the taxonomy for a model: hierarchy over its label set, calibration for a target, label policy, categories.
import { compileCategories, readCategoryFile, type Categories } from './categories.js';
import { loadCalibration } from './calibration-store.js';
import type { Calibration } from './hedge.js';
import { Hierarchy } from './hierarchy.js';
import { loadLabelSet, type LabelSet } from './label-set.js';
import { compilePolicy, readPolicyFile, type LabelPolicy } from './policy.js';
import { loadWordNet, wordnetCacheFile } from './wordnet-store.js';
import { DEFAULT_MODEL_ID } from '../vision/manifest.js';

export const DEFAULT_TARGET = 0.9;

/** Everything analysis needs for one model and target. */
export interface Taxonomy {
  hierarchy: Hierarchy;
  /** null when no calibration exists for this model and target (run `pictograph calibrate`). */
  calibration: Calibration | null;
  policy: LabelPolicy;
  categories: Categories;
}

const hierarchies = new Map<string, Promise<Hierarchy>>();

/** The hierarchy over a label set (built-in id or a mapped LabelSet), built once per process. */
export function loadHierarchy(labelSet: string | LabelSet = 'imagenet-1k', opts: { env?: NodeJS.ProcessEnv } = {}): Promise<Hierarchy> {
  const set = typeof labelSet === 'string' ? loadLabelSet(labelSet) : labelSet;
  const key = `${wordnetCacheFile(opts.env)}#${set.id}#${set.wnids.length}`;
  let p = hierarchies.get(key);
  if (!p) {
    p = loadWordNet(opts).then((wn) => new Hierarchy(wn, set));
    hierarchies.set(key, p);
    p.catch(() => hierarchies.delete(key));
  }
  return p;
}

/**
 * Hierarchy + calibration (the user's `pictograph calibrate` result, else the committed default) +
 * policy + categories for a model and accuracy target.
 */
export async function loadTaxonomy(opts: { modelId?: string; target?: number; env?: NodeJS.ProcessEnv; labelSet?: string } = {}): Promise<Taxonomy> {
  const hierarchy = await loadHierarchy(opts.labelSet ?? 'imagenet-1k', { env: opts.env });
  const calibration = loadCalibration(
    { modelId: opts.modelId ?? DEFAULT_MODEL_ID, target: opts.target ?? DEFAULT_TARGET, rule: 'sum', labelSet: hierarchy.labelSet.id },
    { env: opts.env },
  );
  return {
    hierarchy,
    calibration,
    policy: compilePolicy(hierarchy, readPolicyFile()),
    categories: compileCategories(hierarchy, readCategoryFile()),
  };
}
