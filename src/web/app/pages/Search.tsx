// Word search: everyday words and WordNet lemmas resolved to concepts, with their photos; "did you mean" for a
// word with several senses, and a plain note for words the model has no concept for.
import { api } from '../api.js';
import { Loaded, useAsync } from '../components/async.js';
import { SearchBox } from '../components/Header.js';
import { PhotoGrid } from '../components/PhotoGrid.js';
import { href } from '../routes.js';

export function SearchPage({ q }: { q: string }) {
  const result = useAsync(() => (q.trim() ? api.search(q.trim()) : Promise.resolve({ synsets: [], senses: [], unknown: [], photos: [] })), [q]);
  document.title = q ? `${q} — Pictograph search` : 'Search — Pictograph';
  return (
    <div class="page search-page">
      <SearchBox initial={q} autoFocus={!q} />
      {q.trim() && (
        <Loaded state={result}>
          {(r) => (
            <>
              {(r.senses?.length ?? 0) > 0 && (
                <p class="did-you-mean" data-testid="did-you-mean">
                  Did you mean{' '}
                  {r.senses!.map((s, i) => (
                    <span key={s.wnid}>
                      {i > 0 && (i === r.senses!.length - 1 ? ' or ' : ', ')}
                      <a href={href.category(s.wnid)} data-wnid={s.wnid}>
                        {s.name}
                        {s.hint && <span class="muted"> (a {s.hint})</span>}
                      </a>
                    </span>
                  ))}
                  ?
                </p>
              )}
              {(r.unknown?.length ?? 0) > 0 && (
                <p class="muted" data-testid="unknown-words">
                  The model cannot recognise {r.unknown!.map((w) => `“${w}”`).join(', ')} in photos yet.
                </p>
              )}
              {(r.tags?.length ?? 0) > 0 && (
                <p class="chips" data-testid="search-tags">
                  <span class="chips-title">Tags:</span>
                  {r.tags!.map((t) => (
                    <a class="chip chip-tag" key={t.id} href={href.tag(t.id)} data-tag={t.id}>
                      {t.name} <span class="count">{t.count}</span>
                    </a>
                  ))}
                </p>
              )}
              <section>
                <h2>Concepts matching “{q}”</h2>
                {r.synsets.length === 0 && <p class="muted">No concept matches these words.</p>}
                <ul class="synset-list" data-testid="synsets">
                  {r.synsets.map((s) => (
                    <li key={s.wnid}>
                      <a href={href.category(s.wnid)} data-wnid={s.wnid}>
                        {s.name}
                      </a>{' '}
                      {s.count !== undefined && <span class="count">{s.count}</span>}
                      <span class="muted small"> — {s.gloss}</span>
                    </li>
                  ))}
                </ul>
              </section>
              <section>
                <h2>Photos</h2>
                {r.photos.length === 0 ? <p class="muted">No photos of these concepts yet.</p> : <PhotoGrid photos={r.photos} />}
              </section>
            </>
          )}
        </Loaded>
      )}
    </div>
  );
}
