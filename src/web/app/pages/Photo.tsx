// The photo page: the large thumbnail, labels with confidence bars, hedged label and path, categories,
// similar photos and the feedback question.
import { api } from '../api.js';
import { Bar } from '../components/Bar.js';
import { Loaded, useAsync } from '../components/async.js';
import { Feedback } from '../components/Feedback.js';
import { PhotoGrid } from '../components/PhotoGrid.js';
import { TimelineStrip } from '../components/Timeline.js';
import { href } from '../routes.js';
import { useState } from 'preact/hooks';
import { FaceFrame, FaceList } from '../components/Faces.js';

/**
 * A photo shows a category chip only when the photo counts in that category (the server counts a photo in a
 * category from a score of 0.3, as the category pages do), so a face is not labelled "Animal 13%, Dog 4%".
 */
const CATEGORY_MIN = 0.3;
const shownCategories = <T extends { score?: number }>(list: T[]): T[] => list.filter((c) => (c.score ?? 0) >= CATEGORY_MIN);

export function PhotoPage({ id }: { id: string }) {
  const photo = useAsync(() => api.photo(id), [id]);
  const [facesVersion, setFacesVersion] = useState(0);
  const faces = useAsync(() => api.photoFaces(id).catch(() => ({ faces: [] })), [id, facesVersion]);
  const faceList = faces.status === 'ok' ? faces.data.faces : [];
  return (
    <div class="page photo">
      <Loaded state={photo}>
        {(p) => {
          const title = p.hedged?.name ?? p.labels[0]?.name ?? 'Photo';
          document.title = `${title} — Pictograph`;
          return (
            <>
              <div class="photo-layout">
                <figure class="photo-figure">
<FaceFrame width={p.width} height={p.height} faces={faceList}>
                  <img
                    // an animation plays from its original file (browsers animate GIF, WebP and APNG)
                    src={p.timeline ? p.original : p.thumbnail_large}
                    data-testid={p.timeline ? 'player' : undefined}
                    onError={(e) => {
                      const img = e.currentTarget;
                      if (img.src !== new URL(p.thumbnail_large, location.href).href) img.src = p.thumbnail_large;
                    }}
                    alt={title}
                    width={p.width}
                    height={p.height}
                    style={{ aspectRatio: p.width && p.height ? `${p.width} / ${p.height}` : undefined }}
                  />
                  </FaceFrame>
                  <figcaption class="muted small">
                    by <a href={href.person(p.owner)}>{p.owner}</a> · {p.visibility}
                    {p.taken_at && <> · {new Date(p.taken_at).toLocaleDateString()}</>}
                    {p.camera && <> · {p.camera}</>} · <a href={p.original}>original</a>
                  </figcaption>
                  {p.timeline && <TimelineStrip timeline={p.timeline} />}
                </figure>
                <div class="photo-info">
                  {p.hedged ? (
                    <section class="hedged">
                      <h1>
                        <a href={href.category(p.hedged.wnid)}>{p.hedged.name}</a>
                      </h1>
                      <p class="muted small">
                        {(p.hedged.score * 100).toFixed(0)}% sure at this level (the most specific concept expected to be right{' '}
                        {(p.hedged.target * 100).toFixed(0)}% of the time)
                      </p>
                      {p.path.length > 0 && (
                        <p class="path" data-testid="hedged-path">
                          {p.path.map((s, i) => (
                            <span key={s.wnid}>
                              {i > 0 && <span class="sep"> → </span>}
                              <a href={href.category(s.wnid)}>{s.name}</a>
                            </span>
                          ))}
                        </p>
                      )}
                    </section>
                  ) : (
                    <h1>{title}</h1>
                  )}
                  <section>
                    <h3>Top labels</h3>
                    <div data-testid="labels">
                      {p.labels.map((l) => (
                        <Bar key={l.wnid} label={l.name} value={l.score} href={href.category(l.wnid)} />
                      ))}
                    </div>
                  </section>
                  {shownCategories(p.categories).length > 0 && (
                    <section>
                      <h3>Categories</h3>
                      <div class="chips" data-testid="category-chips">
                        {shownCategories(p.categories).map((c) => (
                          <a class="chip" key={c.id} href={href.category(c.wnid)}>
                            {c.name} <span class="count">{((c.score ?? 0) * 100).toFixed(0)}%</span>
                          </a>
                        ))}
                      </div>
                    </section>
                  )}
                  <FaceList faces={faceList} onChange={() => setFacesVersion((v) => v + 1)} />
                  <Feedback photo={p} />
                  <p class="muted small">
                    Model {p.model.id} ({p.model.sha256.slice(0, 12)})
                  </p>
                </div>
              </div>
              {p.similar.length > 0 && (
                <section>
                  <h2>Similar photos</h2>
                  <PhotoGrid photos={p.similar} />
                </section>
              )}
            </>
          );
        }}
      </Loaded>
    </div>
  );
}
