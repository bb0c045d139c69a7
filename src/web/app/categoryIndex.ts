// Which consumer categories lie under a synset, from the category tree of visible photos (one request,
// kept for a minute per owner filter).
import { api } from './api.js';
import type { Category, TreeNode } from './types.js';

const TTL_MS = 60_000;
const trees = new Map<string, { at: number; tree: Promise<TreeNode> }>();

/** The category tree of the photos visible to the viewer (one owner's when given), cached for a minute. */
export function tree(owner: string | null): Promise<TreeNode> {
  const key = owner ?? '';
  const hit = trees.get(key);
  if (hit && Date.now() - hit.at < TTL_MS) return hit.tree;
  const fresh = api.categoryTree(owner ?? undefined);
  trees.set(key, { at: Date.now(), tree: fresh });
  fresh.catch(() => trees.delete(key));
  return fresh;
}

/** The node for `wnid` in the tree, or null. */
export function findNode(root: TreeNode, wnid: string): TreeNode | null {
  const stack = [root];
  while (stack.length > 0) {
    const n = stack.pop() as TreeNode;
    if (n.wnid === wnid) return n;
    stack.push(...n.children);
  }
  return null;
}

/** The wnids strictly below `wnid` in `root` (empty when `wnid` is not in the tree). */
export function descendantsOf(root: TreeNode, wnid: string): Set<string> {
  const out = new Set<string>();
  const collect = (n: TreeNode) => {
    for (const c of n.children) {
      out.add(c.wnid);
      collect(c);
    }
  };
  const node = findNode(root, wnid);
  if (node) collect(node);
  return out;
}

/** Consumer categories (with counts, for `owner` when given) below `wnid` in the hierarchy, most photos first. */
export async function categoriesUnder(wnid: string, owner: string | null): Promise<Category[]> {
  const [{ categories }, root] = await Promise.all([api.categories(owner ?? undefined), tree(owner)]);
  const below = descendantsOf(root, wnid);
  return categories.filter((c) => below.has(c.wnid) && (c.count ?? 0) > 0).sort((a, b) => (b.count ?? 0) - (a.count ?? 0));
}

/** Follows a chain of only children down to the first node that branches (or is a leaf). */
export function collapseChain(node: TreeNode): TreeNode {
  let n = node;
  while (n.children.length === 1) n = n.children[0];
  return n;
}

export interface OutlineEntry {
  node: TreeNode;
  children: TreeNode[];
}

/**
 * The broad branches of the photos' hierarchy for browsing: from the root down to where it first branches,
 * each branch (single-child chains skipped, "living thing > organism > animal" shows as "animal") with its
 * own largest branches.
 */
export function hierarchyOutline(root: TreeNode, perBranch = 6): OutlineEntry[] {
  const top = collapseChain(root);
  return [...top.children]
    .sort((a, b) => b.count - a.count)
    .map((child) => {
      const node = collapseChain(child);
      const children = node.children.map(collapseChain).sort((a, b) => b.count - a.count).slice(0, perBranch);
      return { node, children };
    });
}
