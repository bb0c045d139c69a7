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

/**
 * Columns and rows of a treemap cell's photo mosaic: at most what fits at about `tile` px a tile and never more
 * tiles than photos; of those, the grid showing the most photos, then the one with the squarest tiles.
 */
export function mosaicGrid(width: number, height: number, photos: number, tile = 150): { cols: number; rows: number } {
  if (photos <= 1 || !(width > 0) || !(height > 0)) return { cols: 1, rows: 1 };
  const maxCols = Math.max(1, Math.round(width / tile));
  const maxRows = Math.max(1, Math.round(height / tile));
  const skew = (c: number, r: number) => Math.abs(Math.log(width / c / (height / r)));
  let best = { cols: 1, rows: 1 };
  for (let cols = 1; cols <= maxCols; cols++) {
    for (let rows = 1; rows <= maxRows && cols * rows <= photos; rows++) {
      const n = cols * rows;
      const bestN = best.cols * best.rows;
      if (n > bestN || (n === bestN && skew(cols, rows) < skew(best.cols, best.rows))) best = { cols, rows };
    }
  }
  return best;
}
