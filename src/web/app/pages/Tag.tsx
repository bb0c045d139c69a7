// A tag's page (Fathom): the breadcrumb from entity down through the synset it attaches under, how many photos
// carry it, and those photos, best first. Tags are everyday concepts ("beach") or the viewer's own custom ones.
import { api } from '../api.js';
import { Loaded, useAsync } from '../components/async.js';
import { InfinitePhotoGrid } from '../components/PhotoGrid.js';
import { href } from '../routes.js';
import { Breadcrumb } from './Category.js';

export function TagPage({ tag, owner }: { tag: string; owner: string | null }) {
  const detail = useAsync(() => api.tag(tag, owner ?? undefined), [tag, owner]);
  return (
    <div class="page category tag-page">
      <Loaded state={detail}>
        {(t) => {
          document.title = `${t.name} — Pictograph`;
          return (
            <>
              <Breadcrumb path={[{ wnid: `tag:${t.id}`, name: t.name }, ...t.path]} owner={owner} />
              <h1>
                {t.name} <span class="count big">{t.count}</span>
              </h1>
              <p class="gloss">
                {t.owner ? `Your concept “${t.name}”` : `Photos tagged “${t.name}”`}, a kind of{' '}
                <a href={href.category(t.synset.wnid, owner)}>{t.synset.name}</a>.
              </p>
              {owner && (
                <p class="filter">
                  Showing photos by <a href={href.person(owner)}>{owner}</a> · <a href={href.tag(t.id)}>everyone’s photos</a>
                </p>
              )}
            </>
          );
        }}
      </Loaded>
      <InfinitePhotoGrid tag={tag} owner={owner} />
    </div>
  );
}
