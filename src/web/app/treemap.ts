// The Pictograph treemap layout: squarified cells whose areas are proportional to category counts.
import { hierarchy, treemap, treemapSquarify } from 'd3-hierarchy';

export interface TreemapCell<T> {
  item: T;
  x: number;
  y: number;
  width: number;
  height: number;
}

/** Lays `items` out in a `width` x `height` box; zero or negative counts get no cell. */
export function layoutTreemap<T>(items: T[], count: (item: T) => number, width: number, height: number): TreemapCell<T>[] {
  const kept = items.filter((i) => count(i) > 0);
  if (kept.length === 0 || width <= 0 || height <= 0) return [];
  type Node = { item?: T; children?: Node[] };
  const root = hierarchy<Node>({ children: kept.map((item) => ({ item })) })
    .sum((n) => (n.item === undefined ? 0 : count(n.item)))
    .sort((a, b) => (b.value ?? 0) - (a.value ?? 0));
  const laid = treemap<Node>().tile(treemapSquarify).size([width, height]).round(false)(root);
  return laid.leaves().map((leaf) => ({
    item: leaf.data.item as T,
    x: leaf.x0,
    y: leaf.y0,
    width: leaf.x1 - leaf.x0,
    height: leaf.y1 - leaf.y0,
  }));
}
