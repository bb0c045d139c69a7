// Label policy: which labels may be shown, under what name and above what confidence (data/label-policy.json).
import { readFileSync } from 'node:fs';
import type { CategoryScore, Label } from './photo-analysis.js';
import { projectDataFile } from '../config/paths.js';
import type { Hierarchy } from './hierarchy.js';

export interface PolicyRule {
  wnid: string;
  /** Apply to every synset below as well. */
  subtree?: boolean;
  suppress?: boolean;
  minConfidence?: number;
  rename?: string;
  reason?: string;
}

export interface PolicyFile {
  defaultMinConfidence?: number;
  rules: PolicyRule[];
}

/** A policy resolved against one hierarchy: per-node minimum, suppression and display name. */
export interface LabelPolicy {
  hierarchy: Hierarchy;
  /** Minimum score per node (Infinity when suppressed). */
  minScore: Float32Array;
  rename: Map<number, string>;
  file: PolicyFile;
}

export function readPolicyFile(path = projectDataFile('label-policy.json')): PolicyFile {
  const file = JSON.parse(readFileSync(path, 'utf8')) as PolicyFile;
  for (const r of file.rules ?? []) {
    if (!/^n\d{8}$/.test(r.wnid)) throw new Error(`label policy: '${r.wnid}' is not a noun wnid`);
    if (r.minConfidence !== undefined && !(r.minConfidence >= 0 && r.minConfidence <= 1)) throw new Error(`label policy ${r.wnid}: minConfidence must lie in [0, 1]`);
  }
  return file;
}

/** An empty policy: everything allowed, nothing renamed. */
export const OPEN_POLICY: PolicyFile = { rules: [] };

export function compilePolicy(hierarchy: Hierarchy, file: PolicyFile): LabelPolicy {
  const minScore = new Float32Array(hierarchy.size).fill(file.defaultMinConfidence ?? 0);
  const rename = new Map<number, string>();
  for (const rule of file.rules ?? []) {
    const start = hierarchy.node(rule.wnid);
    if (start === undefined) continue; // synset not above any label of this label set
    const nodes = rule.subtree ? descendants(hierarchy, start) : [start];
    const min = rule.suppress ? Infinity : (rule.minConfidence ?? 0);
    for (const n of nodes) minScore[n] = Math.max(minScore[n], min);
    if (rule.rename) rename.set(start, rule.rename);
  }
  return { hierarchy, minScore, rename, file };
}

function descendants(hierarchy: Hierarchy, node: number): number[] {
  const seen = new Set([node]);
  const stack = [node];
  while (stack.length > 0) for (const c of hierarchy.children[stack.pop()!]) if (!seen.has(c)) { seen.add(c); stack.push(c); }
  return [...seen];
}

/** Whether a node may be shown with this score. */
export function isAllowed(policy: LabelPolicy, node: number, score: number): boolean {
  return score >= policy.minScore[node];
}

/** Display name of a node under the policy. */
export function displayName(policy: LabelPolicy, node: number): string {
  return policy.rename.get(node) ?? policy.hierarchy.names[node];
}

/** Raw labels with suppressed and under-confident ones removed and renames applied. */
export function applyPolicyToLabels(policy: LabelPolicy, labels: Label[]): Label[] {
  const out: Label[] = [];
  for (const label of labels) {
    const node = policy.hierarchy.node(label.wnid);
    if (node === undefined) { out.push(label); continue; }
    if (!isAllowed(policy, node, label.score)) continue;
    out.push({ ...label, name: displayName(policy, node) });
  }
  return out;
}

/**
 * The hedged node to show: the chosen node when allowed at its score, else the first allowed node up
 * its primary hypernym path (scored from `values`); undefined when none is.
 */
export function applyPolicyToHedged(policy: LabelPolicy, node: number, values: Float32Array): number | undefined {
  for (const n of policy.hierarchy.primaryPath(node)) if (isAllowed(policy, n, values[n])) return n;
  return undefined;
}

/** Categories with policy applied through each category's first wnid. */
export function applyPolicyToCategories(policy: LabelPolicy, categories: CategoryScore[]): CategoryScore[] {
  return categories.filter((c) => {
    const node = policy.hierarchy.node(c.wnid);
    return node === undefined || isAllowed(policy, node, c.score);
  });
}
