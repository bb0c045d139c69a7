// The Hierarchy: the part of the WordNet DAG above a label set, with leaves, depths and ancestors precomputed.
import type { LabelSet } from './label-set.js';
import type { WordNet } from './wordnet.js';

/**
 * Nodes are every synset reachable upward from the labels (through hypernyms and instance
 * hypernyms). Node indexes are dense 0..size-1; label l (a model output) sits at node leafNode[l].
 */
export class Hierarchy {
  readonly size: number;
  readonly labelCount: number;
  readonly wnids: string[];
  readonly names: string[];
  /** Parents inside the sub-DAG, primary hypernym first. */
  readonly parents: number[][];
  /** Children inside the sub-DAG. */
  readonly children: number[][];
  /** Node index of each label. */
  readonly leafNode: Int32Array;
  /** Label index at a node, or -1 for nodes that are not labels. */
  readonly labelAt: Int32Array;
  /** Labels under each node (the node's own label included), each once, ascending. */
  readonly leaves: Int32Array[];
  /** Shortest distance from the root (root = 0). */
  readonly depth: Int32Array;
  /** Longest distance down to a label (labels = 0). */
  readonly height: Int32Array;
  /** DARTS reward log2(#labels / #labels under node): 0 at the root, log2(1000) at a single label. */
  readonly reward: Float64Array;
  /** Ancestors of each label (itself included), CSR: ancestorList[ancestorStart[l] .. ancestorStart[l+1]). */
  readonly ancestorStart: Int32Array;
  readonly ancestorList: Int32Array;
  /** Every node, children before parents. */
  readonly bottomUp: Int32Array;
  readonly root: number;
  private readonly byWnid: Map<string, number>;

  constructor(readonly wordnet: WordNet, readonly labelSet: LabelSet) {
    const index = new Map<number, number>(); // synset index -> node index
    const synsetOf: number[] = [];
    const add = (s: number) => {
      let n = index.get(s);
      if (n === undefined) { n = synsetOf.length; index.set(s, n); synsetOf.push(s); }
      return n;
    };
    const leafSynsets = labelSet.wnids.map((w) => {
      const s = wordnet.indexOf(w);
      if (s === undefined) throw new Error(`label set ${labelSet.id}: ${w} is not a WordNet 3.0 noun`);
      return s;
    });
    leafSynsets.forEach(add);
    for (let q = 0; q < synsetOf.length; q++) for (const p of wordnet.parents(synsetOf[q])) add(p);

    this.size = synsetOf.length;
    this.labelCount = leafSynsets.length;
    this.wnids = synsetOf.map((s) => wordnet.wnid(s));
    this.names = synsetOf.map((s) => wordnet.name(s));
    this.byWnid = new Map(this.wnids.map((w, i) => [w, i]));
    this.parents = synsetOf.map((s) => wordnet.parents(s).map((p) => index.get(p)!));
    this.children = synsetOf.map(() => []);
    this.parents.forEach((ps, c) => ps.forEach((p) => this.children[p].push(c)));
    this.leafNode = Int32Array.from(leafSynsets, (s) => index.get(s)!);
    this.labelAt = new Int32Array(this.size).fill(-1);
    this.leafNode.forEach((n, l) => {
      if (this.labelAt[n] >= 0) throw new Error(`label set ${labelSet.id}: ${this.wnids[n]} appears twice`);
      this.labelAt[n] = l;
    });
    labelSet.names.forEach((name, l) => (this.names[this.leafNode[l]] = name));

    const roots = this.parents.flatMap((ps, n) => (ps.length === 0 ? [n] : []));
    if (roots.length !== 1) throw new Error(`hierarchy has ${roots.length} roots`);
    this.root = roots[0];

    // Children before parents: Kahn's algorithm on "all children done".
    const pending = Int32Array.from(this.children, (c) => c.length);
    const order: number[] = [];
    for (let n = 0; n < this.size; n++) if (pending[n] === 0) order.push(n);
    for (let q = 0; q < order.length; q++) for (const p of this.parents[order[q]]) if (--pending[p] === 0) order.push(p);
    if (order.length !== this.size) throw new Error('hierarchy has a cycle');
    this.bottomUp = Int32Array.from(order);

    this.height = new Int32Array(this.size);
    const leafSets: Set<number>[] = Array.from({ length: this.size }, () => new Set<number>());
    for (const n of order) {
      if (this.labelAt[n] >= 0) leafSets[n].add(this.labelAt[n]);
      for (const c of this.children[n]) {
        this.height[n] = Math.max(this.height[n], this.height[c] + 1);
        for (const l of leafSets[c]) leafSets[n].add(l);
      }
    }
    this.leaves = leafSets.map((s) => Int32Array.from(s).sort());
    this.reward = Float64Array.from(this.leaves, (l) => Math.log2(this.labelCount / l.length));

    this.depth = new Int32Array(this.size).fill(-1);
    this.depth[this.root] = 0;
    const queue = [this.root];
    for (let q = 0; q < queue.length; q++) {
      for (const c of this.children[queue[q]]) if (this.depth[c] < 0) { this.depth[c] = this.depth[queue[q]] + 1; queue.push(c); }
    }

    const starts = [0];
    const list: number[] = [];
    for (let l = 0; l < this.labelCount; l++) {
      const seen = new Set<number>([this.leafNode[l]]);
      const stack = [this.leafNode[l]];
      while (stack.length > 0) for (const p of this.parents[stack.pop()!]) if (!seen.has(p)) { seen.add(p); stack.push(p); }
      list.push(...seen);
      starts.push(list.length);
    }
    this.ancestorStart = Int32Array.from(starts);
    this.ancestorList = Int32Array.from(list);
  }

  /** Node index of a wnid, or undefined when the synset is not above any label. */
  node(wnid: string): number | undefined {
    return this.byWnid.get(wnid);
  }

  /** Ancestors of label l (node indexes, the label's own node included). */
  ancestorsOfLabel(l: number): Int32Array {
    return this.ancestorList.subarray(this.ancestorStart[l], this.ancestorStart[l + 1]);
  }

  /** Whether label l lies under node n (n is one of its ancestors or its own node). */
  isUnder(l: number, n: number): boolean {
    const leaves = this.leaves[n];
    let lo = 0;
    let hi = leaves.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (leaves[mid] === l) return true;
      if (leaves[mid] < l) lo = mid + 1;
      else hi = mid - 1;
    }
    return false;
  }

  /** Primary-hypernym chain from a node up to the root (the node first). */
  primaryPath(n: number): number[] {
    const path = [n];
    while (this.parents[path[path.length - 1]].length > 0) path.push(this.parents[path[path.length - 1]][0]);
    return path;
  }

  /**
   * The most specific common ancestor of two nodes (fewest labels under it, then deepest),
   * and the shortest upward distance to it from each.
   */
  lowestCommonAncestor(a: number, b: number): { node: number; fromA: number; fromB: number } {
    const da = this.upwardDistances(a);
    const db = this.upwardDistances(b);
    let best = -1;
    for (const [n] of da) {
      if (!db.has(n)) continue;
      if (best < 0 || this.leaves[n].length < this.leaves[best].length ||
        (this.leaves[n].length === this.leaves[best].length && this.depth[n] > this.depth[best])) best = n;
    }
    return { node: best, fromA: da.get(best)!, fromB: db.get(best)! };
  }

  private upwardDistances(n: number): Map<number, number> {
    const dist = new Map([[n, 0]]);
    const queue = [n];
    for (let q = 0; q < queue.length; q++) {
      for (const p of this.parents[queue[q]]) if (!dist.has(p)) { dist.set(p, dist.get(queue[q])! + 1); queue.push(p); }
    }
    return dist;
  }
}

/** Builds the hierarchy over a label set. */
export function buildHierarchy(wordnet: WordNet, labelSet: LabelSet): Hierarchy {
  return new Hierarchy(wordnet, labelSet);
}
