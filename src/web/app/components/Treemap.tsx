// The Pictograph treemap: a person's top categories as cells sized by photo count, each showing an example photo.
import { useEffect, useRef, useState } from 'preact/hooks';
import type { RefObject } from 'preact';
import { layoutTreemap } from '../treemap.js';
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
  // Nested categories (animal > mammal > dog) share their best photos; give each cell a different one.
  const used = new Set<string>();
  const exampleOf = new Map<string, TopCategory['examples'][number] | undefined>();
  for (const { item } of cells) {
    const example = item.examples.find((e) => !used.has(String(e.id))) ?? item.examples[0];
    if (example) used.add(String(example.id));
    exampleOf.set(item.wnid, example);
  }
  return (
    <div class="treemap" ref={ref} style={{ height: `${height}px` }} data-testid="treemap">
      {cells.map(({ item, x, y, width: w, height: h }) => {
        const example = exampleOf.get(item.wnid);
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
              backgroundImage: example ? `url("${example.thumbnail}")` : undefined,
            }}
            onClick={() => onPick(item)}
          >
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
