// Consumer categories ("dog", "food"): an editable data file of everyday concepts mapped to synsets, scored per photo.
import { readFileSync } from 'node:fs';
import type { CategoryScore } from './photo-analysis.js';
import { projectDataFile } from '../config/paths.js';
import type { Hierarchy } from './hierarchy.js';
import type { NodeScores } from './score.js';

export interface CategoryDef {
  id: string;
  name: string;
  wnids: string[];
  /** Id of a broader category, if any. */
  parent?: string;
}

export interface CategoryFile {
  categories: CategoryDef[];
  /** Synsets too abstract to show people ("physical entity", "placental", "instrumentality"). */
  abstract: string[];
}

/** A category resolved against one hierarchy. */
export interface Category extends CategoryDef {
  /** Hierarchy nodes of its wnids (wnids outside the hierarchy dropped). */
  nodes: number[];
  /** Labels under any of its nodes, each once, ascending. */
  leaves: Int32Array;
}

export interface Categories {
  hierarchy: Hierarchy;
  list: Category[];
  byId: Map<string, Category>;
  /** Nodes never shown as display labels. */
  abstract: Set<number>;
}

/** Reads the categories file (default: the committed `data/categories.json`). */
export function readCategoryFile(path = projectDataFile('categories.json')): CategoryFile {
  const file = JSON.parse(readFileSync(path, 'utf8')) as CategoryFile;
  validateCategoryFile(file);
  return file;
}

/** Checks ids are unique, wnids well-formed and parents known; throws on the first problem. */
export function validateCategoryFile(file: CategoryFile): void {
  const ids = new Set<string>();
  for (const c of file.categories) {
    if (!c.id || !c.name || !Array.isArray(c.wnids) || c.wnids.length === 0) throw new Error(`category ${JSON.stringify(c)}: needs id, name and wnids`);
    if (ids.has(c.id)) throw new Error(`category id '${c.id}' is used twice`);
    ids.add(c.id);
    for (const w of c.wnids) if (!/^n\d{8}$/.test(w)) throw new Error(`category '${c.id}': '${w}' is not a noun wnid`);
  }
  for (const c of file.categories) if (c.parent && !ids.has(c.parent)) throw new Error(`category '${c.id}': unknown parent '${c.parent}'`);
  for (const w of file.abstract ?? []) if (!/^n\d{8}$/.test(w)) throw new Error(`abstract: '${w}' is not a noun wnid`);
}

/** Resolves category definitions against a hierarchy (leaf sets precomputed; categories with no labels kept, empty). */
export function compileCategories(hierarchy: Hierarchy, file: CategoryFile): Categories {
  const list = file.categories.map((def) => {
    const nodes = def.wnids.map((w) => hierarchy.node(w)).filter((n): n is number => n !== undefined);
    const leaves = new Set<number>();
    for (const n of nodes) for (const l of hierarchy.leaves[n]) leaves.add(l);
    return { ...def, nodes, leaves: Int32Array.from(leaves).sort() };
  });
  const abstract = new Set((file.abstract ?? []).map((w) => hierarchy.node(w)).filter((n): n is number => n !== undefined));
  return { hierarchy, list, byId: new Map(list.map((c) => [c.id, c])), abstract };
}

/**
 * Every category's score for one photo, best first: under `sum`, the probability that the photo
 * shows something under any of the category's synsets (each label once); under `mean`, the best of
 * its synsets' values.
 */
export function scoreCategories(categories: Categories, scores: NodeScores): CategoryScore[] {
  const { values, hierarchy } = scores;
  const out: CategoryScore[] = [];
  for (const c of categories.list) {
    if (c.nodes.length === 0) continue;
    let score = 0;
    if (scores.rule === 'sum') {
      if (c.nodes.length === 1) score = values[c.nodes[0]];
      else for (const l of c.leaves) score += values[hierarchy.leafNode[l]];
    } else {
      for (const n of c.nodes) score = Math.max(score, values[n]);
    }
    out.push({ id: c.id, name: c.name, wnid: c.wnids[0], score: Math.min(1, score) });
  }
  return out.sort((a, b) => b.score - a.score || a.id.localeCompare(b.id));
}

/**
 * The categories to show for a photo: those scoring at least `min`, most specific first, leaving out
 * any broader category that contains an already chosen one ("dog" hides "mammal" and "animal").
 */
export function chooseDisplayCategories(
  categories: Categories,
  scores: CategoryScore[],
  opts: { min?: number; max?: number } = {},
): CategoryScore[] {
  const min = opts.min ?? 0.3;
  const max = opts.max ?? 3;
  const candidates = scores
    .filter((s) => s.score >= min && categories.byId.has(s.id))
    .sort((a, b) => categories.byId.get(a.id)!.leaves.length - categories.byId.get(b.id)!.leaves.length || b.score - a.score);
  const chosen: CategoryScore[] = [];
  for (const s of candidates) {
    if (chosen.length >= max) break;
    const leaves = categories.byId.get(s.id)!.leaves;
    const contains = chosen.some((c) => isSubset(categories.byId.get(c.id)!.leaves, leaves));
    if (!contains) chosen.push(s);
  }
  return chosen.sort((a, b) => b.score - a.score);
}

/**
 * The cells of a person's treemap (the report's "top four categories"): categories that never nest inside
 * one another, biggest count first, where a category gives way to a narrower one holding at least
 * `dominance` of its photos, so a dog lover's cell reads "Dog", not "Animal" beside "Mammal" beside "Dog".
 */
export function chooseTreemapCategories<T extends { id: string; count: number }>(
  categories: Categories,
  counts: T[],
  opts: { max?: number; dominance?: number } = {},
): T[] {
  const max = opts.max ?? 4;
  const dominance = opts.dominance ?? 2 / 3;
  const known = counts.filter((c) => c.count > 0 && categories.byId.has(c.id));
  const leavesOf = (c: T): Int32Array => categories.byId.get(c.id)!.leaves;
  const narrower = (inner: T, outer: T): boolean => leavesOf(inner).length < leavesOf(outer).length && isSubset(leavesOf(inner), leavesOf(outer));
  const biggestFirst = (a: T, b: T): number => b.count - a.count || leavesOf(a).length - leavesOf(b).length || a.id.localeCompare(b.id);
  const chosen: T[] = [];
  for (const candidate of [...known].sort(biggestFirst)) {
    if (chosen.length >= max) break;
    let pick = candidate;
    for (;;) {
      const inner = known.filter((c) => c.count >= dominance * pick.count && narrower(c, pick)).sort(biggestFirst)[0];
      if (inner === undefined) break;
      pick = inner;
    }
    const nests = chosen.some((c) => c === pick || isSubset(leavesOf(c), leavesOf(pick)) || isSubset(leavesOf(pick), leavesOf(c)));
    if (!nests) chosen.push(pick);
  }
  return chosen;
}

function isSubset(small: Int32Array, big: Int32Array): boolean {
  let j = 0;
  for (let i = 0; i < small.length; i++) {
    while (j < big.length && big[j] < small[i]) j++;
    if (j >= big.length || big[j] !== small[i]) return false;
  }
  return true;
}

/**
 * The node to show for a hierarchy node: itself unless abstract, else the nearest non-abstract node
 * up its primary hypernym path ("placental" -> "mammal"); undefined when everything above is abstract.
 */
export function displayNode(categories: Categories, node: number): number | undefined {
  for (const n of categories.hierarchy.primaryPath(node)) if (!categories.abstract.has(n)) return n;
  return undefined;
}
