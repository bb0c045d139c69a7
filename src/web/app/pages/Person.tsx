// Pictograph's person page: their top categories as a proportional treemap, with more on request and drill-in.
import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { Loaded, useAsync } from '../components/async.js';
import { PhotoTile } from '../components/PhotoGrid.js';
import { Treemap } from '../components/Treemap.js';
import { navigate } from '../router.js';
import { href } from '../routes.js';

const TOP = 4;

export function PersonPage({ name }: { name: string }) {
  const profile = useAsync(() => api.profile(name), [name]);
  const [showAll, setShowAll] = useState(false);
  return (
    <div class="page person">
      <Loaded state={profile}>
        {(p) => {
          document.title = `${p.owner} — Pictograph`;
          const ranked = [...p.top_categories].filter((c) => c.count > 0).sort((a, b) => b.count - a.count);
          const shown = showAll ? ranked : ranked.slice(0, TOP);
          return (
            <>
              <h1>
                {p.owner} <span class="count big">{p.photos} photos</span>
              </h1>
              <p class="muted">
                What {p.owner} photographs most. Click a category to see those photos.{' '}
                <a href={href.compare(p.owner, null)}>Compare with someone</a>
              </p>
              {ranked.length === 0 ? (
                <p class="muted">No categorised photos yet.</p>
              ) : (
                <>
                  <Treemap categories={shown} onPick={(c) => navigate(href.category(c.wnid, p.owner))} />
                  {ranked.length > TOP && (
                    <button type="button" class="secondary toggle" onClick={() => setShowAll(!showAll)}>
                      {showAll ? `Show top ${TOP} only` : `Show ${ranked.length - TOP} more categories`}
                    </button>
                  )}
                </>
              )}
              <section class="examples">
                {shown.map((c) => (
                  <div class="example-row" key={c.wnid}>
                    <h3>
                      <a href={href.category(c.wnid, p.owner)}>{c.name}</a> <span class="count">{c.count}</span>
                    </h3>
                    <div class="grid small-grid">
                      {c.examples.slice(0, 4).map((ph) => (
                        <PhotoTile key={ph.id} photo={ph} />
                      ))}
                    </div>
                  </div>
                ))}
              </section>
              {(p.top_tags?.length ?? 0) > 0 && (
                <section>
                  <h2>Tags in {p.owner}’s photos</h2>
                  <div class="chips" data-testid="profile-tags">
                    {p.top_tags!.map((t) => (
                      <a class="chip chip-tag" key={t.id} href={href.tag(t.id, p.owner)} data-tag={t.id}>
                        {t.name} <span class="count">{t.count}</span>
                      </a>
                    ))}
                  </div>
                </section>
              )}
              {p.profile.length > 0 && (
                <section>
                  <h2>Concepts in {p.owner}’s photos</h2>
                  <p class="muted small">In WordNet terms, most telling first.</p>
                  <div class="chips">
                    {p.profile.slice(0, 24).map((s) => (
                      <a class="chip" key={s.wnid} href={href.category(s.wnid, p.owner)}>
                        {s.name}
                      </a>
                    ))}
                  </div>
                </section>
              )}
            </>
          );
        }}
      </Loaded>
    </div>
  );
}
