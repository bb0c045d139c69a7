// The Pictograph treemap: a person's top categories as cells sized by photo count, each filled with a mosaic of the
// category's best photos (as many as fit the cell at about 150 px a tile).
import { useEffect, useRef, useState } from 'preact/hooks';
import type { RefObject } from 'preact';
import { layoutTreemap, mosaicGrid } from '../treemap.js';
import type { TopCategory } from '../types.js';

function useWidth<T extends HTMLElement>(): [RefObject<T | null>, number] {
  const ref = useRef<T>(null);
  const [width, setWidth] = useState(0);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    setWidth(el.clientWidth);
    const observer = new ResizeObserver(() => setWidth(el.clientWidth));
    observer.observe(el);
    return () => observer.disconnect();
  }, []);
  return [ref, width];
}

export function Treemap({ categories, onPick }: { categories: TopCategory[]; onPick: (c: TopCategory) => void }) {
  const [ref, width] = useWidth<HTMLDivElement>();
  const height = Math.round(Math.max(320, Math.min(560, width * 0.6)));
  const cells = layoutTreemap(categories, (c) => c.count, width, height);
  // Nested categories (animal > mammal > dog) share their best photos; a photo appears in one cell only.
  const used = new Set<string>();
  const mosaicOf = new Map<string, { cols: number; rows: number; photos: TopCategory['examples'] }>();
  for (const { item, width: w, height: h } of cells) {
    const fresh = item.examples.filter((e) => !used.has(String(e.id)));
    const pool = fresh.length > 0 ? fresh : item.examples.slice(0, 1);
    const { cols, rows } = mosaicGrid(w, h, pool.length);
    const photos = pool.slice(0, cols * rows);
    for (const p of photos) used.add(String(p.id));
    mosaicOf.set(item.wnid, { cols, rows, photos });
  }
  return (
    <div class="treemap" ref={ref} style={{ height: `${height}px` }} data-testid="treemap">
      {cells.map(({ item, x, y, width: w, height: h }) => {
        const mosaic = mosaicOf.get(item.wnid);
        return (
          <button
            type="button"
            key={item.wnid}
            class={`cell${w < 120 || h < 70 ? ' cell-small' : ''}`}
            data-wnid={item.wnid}
            data-count={item.count}
            title={`${item.name}: ${item.count} photos`}
            style={{
              left: `${x}px`,
              top: `${y}px`,
              width: `${w}px`,
              height: `${h}px`,
            }}
            onClick={() => onPick(item)}
          >
            {mosaic && mosaic.photos.length > 0 && (
              <span class="mosaic" style={{ gridTemplateColumns: `repeat(${mosaic.cols}, 1fr)`, gridTemplateRows: `repeat(${mosaic.rows}, 1fr)` }}>
                {mosaic.photos.map((p) => (
                  <img key={p.id} src={p.thumbnail} alt="" decoding="async" />
                ))}
              </span>
            )}
            <span class="cell-label">
              <span class="cell-name">{item.name}</span>
              <span class="cell-count">{item.count}</span>
            </span>
          </button>
        );
      })}
    </div>
  );
}

