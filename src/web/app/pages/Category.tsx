// Fathom's category page: breadcrumb to `entity`, gloss, child categories, and every photo under it, best first.
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api.js';
import { Loaded, useAsync } from '../components/async.js';
import { InfinitePhotoGrid } from '../components/PhotoGrid.js';
import { categoriesUnder, findNode, tree } from '../categoryIndex.js';
import { href } from '../routes.js';
import type { SynsetDetail, SynsetRef } from '../types.js';

export function Breadcrumb({ path, owner }: { path: SynsetRef[]; owner: string | null }) {
  // The API gives the path from the node up to entity; a breadcrumb reads from the root down.
  const down = [...path].reverse();
  return (
    <nav class="breadcrumb" aria-label="Breadcrumb">
      {down.map((s, i) => (
        <span key={s.wnid}>
          {i > 0 && <span class="sep">›</span>}
          {i === down.length - 1 ? <span aria-current="page">{s.name}</span> : <a href={href.node(s, owner)}>{s.name}</a>}
        </span>
      ))}
    </nav>
  );
}

const FEW = 16;

function Children({ children, owner }: { children: Array<SynsetDetail['children'][number] & { tag?: string }>; owner: string | null }) {
  const [all, setAll] = useState(false);
  if (children.length === 0) return null;
  const shown = all ? children : children.slice(0, FEW);
  return (
    <div class="chips" data-testid="children">
      <span class="chips-title">Narrower:</span>
      {shown.map((c) => (
        <a class="chip" key={c.wnid} href={href.node(c, owner)} data-wnid={c.wnid}>
          {c.name} <span class="count">{c.count}</span>
        </a>
      ))}
      {children.length > FEW && (
        <button type="button" class="chip-more" onClick={() => setAll(!all)}>
          {all ? 'fewer' : `${children.length - FEW} more…`}
        </button>
      )}
    </div>
  );
}

export function CategoryPage({ wnid, owner }: { wnid: string; owner: string | null }) {
  const synset = useAsync(() => api.synset(wnid), [wnid]);
  // Filtered to one owner, the counts come from that owner's category tree (the synset's are everyone's).
  const ownerNode = useAsync(() => (owner ? tree(owner).then((t) => findNode(t, wnid)).catch(() => null) : Promise.resolve(null)), [wnid, owner]);
  // The categories inside are a nicety: ask for them only once the first screen of photos is in.
  const [firstScreen, setFirstScreen] = useState(false);
  useEffect(() => setFirstScreen(false), [wnid, owner]);
  const inside = useAsync(
    () => (firstScreen ? categoriesUnder(wnid, owner).catch(() => []) : Promise.resolve([])),
    [wnid, owner, firstScreen],
  );
  return (
    <div class="page category">
      <Loaded state={synset}>
        {(s) => {
          document.title = `${s.name} — Pictograph`;
          const mine = owner && ownerNode.status === 'ok' ? ownerNode.data : null;
          const count = owner ? (mine?.count ?? (ownerNode.status === 'loading' ? null : 0)) : s.count;
          const children = owner
            ? (mine?.children ?? []).filter((c) => c.tag === undefined).map((c) => ({ wnid: c.wnid, name: c.name, count: c.count })).sort((a, b) => b.count - a.count)
            : s.children;
          // tags attached here (one owner's: from their tree)
          const tags = owner
            ? (mine?.children ?? []).filter((c) => c.tag !== undefined).map((c) => ({ id: c.tag!, name: c.name, count: c.count }))
            : (s.tags ?? []).filter((t) => t.count > 0);
          const path = s.path.length > 0 && s.path[0].wnid === s.wnid ? s.path : [{ wnid: s.wnid, name: s.name }, ...s.path];
          return (
            <>
              <Breadcrumb path={path} owner={owner} />
              <h1>
                {s.name} {count !== null && <span class="count big">{count}</span>}
              </h1>
              {s.lemmas.length > 1 && <p class="lemmas">{s.lemmas.join(', ')}</p>}
              <p class="gloss">{s.gloss}</p>
              {owner && (
                <p class="filter">
                  Showing photos by <a href={href.person(owner)}>{owner}</a> · <a href={href.category(wnid)}>everyone’s photos</a>
                </p>
              )}
              {inside.status === 'ok' && inside.data.length > 0 && (
                <div class="chips" data-testid="inside">
                  <span class="chips-title">Categories inside:</span>
                  {inside.data.map((c) => (
                    <a class="chip" key={c.id} href={href.category(c.wnid, owner)} data-wnid={c.wnid}>
                      {c.name} <span class="count">{c.count}</span>
                    </a>
                  ))}
                </div>
              )}
              {tags.length > 0 && (
                <div class="chips" data-testid="tags">
                  <span class="chips-title">Tags:</span>
                  {tags.map((t) => (
                    <a class="chip chip-tag" key={t.id} href={href.tag(t.id, owner)} data-tag={t.id}>
                      {t.name} <span class="count">{t.count}</span>
                    </a>
                  ))}
                </div>
              )}
              <Children children={children} owner={owner} />
            </>
          );
        }}
      </Loaded>
      <InfinitePhotoGrid under={wnid} owner={owner} onFirstScreen={() => setFirstScreen(true)} />
    </div>
  );
}
