// Fathom's home page: the consumer categories with counts, broad starting points, people, and search.
import { api } from '../api.js';
import { Loaded, useAsync } from '../components/async.js';
import { SearchBox } from '../components/Header.js';
import { hierarchyOutline } from '../categoryIndex.js';
import { href } from '../routes.js';
import type { Category } from '../types.js';

function CategoryCard({ category }: { category: Category }) {
  return (
    <a class="card" href={href.category(category.wnid)} data-wnid={category.wnid}>
      <div class="card-img">{category.thumbnail && <img src={category.thumbnail} alt="" loading="lazy" decoding="async" />}</div>
      <div class="card-body">
        <span class="card-name">{category.name}</span>
        <span class="count">{category.count ?? 0}</span>
      </div>
    </a>
  );
}

export function Home() {
  const categories = useAsync(() => api.categories(), []);
  const outline = useAsync(() => api.categoryTree().then((tree) => hierarchyOutline(tree)), []);
  const owners = useAsync(() => api.owners(), []);
  return (
    <div class="page home">
      <section class="hero">
        <h1>Explore photos by what is in them</h1>
        <p class="muted">Every photo is classified by a neural network and placed in the WordNet hierarchy of concepts.</p>
        <SearchBox autoFocus />
      </section>
      <section>
        <h2>Categories</h2>
        <Loaded state={categories}>
          {({ categories: list }) => {
            const shown = list.filter((c) => (c.count ?? 0) > 0).sort((a, b) => (b.count ?? 0) - (a.count ?? 0));
            return shown.length === 0 ? (
              <p class="muted">
                No photos yet. <a href={href.upload()}>Upload some</a> or ingest a folder with <code>pictograph ingest</code>.
              </p>
            ) : (
              <div class="cards">
                {shown.map((c) => (
                  <CategoryCard key={c.id} category={c} />
                ))}
              </div>
            );
          }}
        </Loaded>
      </section>
      <section>
        <h2>Browse the hierarchy</h2>
        <Loaded state={outline}>
          {(entries) => (
            <div class="outline">
              {entries.map(({ node, children }) => (
                <div class="chips" key={node.wnid}>
                  <a class="chip chip-strong" href={href.node(node)} data-wnid={node.wnid}>
                    {node.name} <span class="count">{node.count}</span>
                  </a>
                  {children.map((c) => (
                    <a class="chip" key={c.wnid} href={href.node(c)} data-wnid={c.wnid}>
                      {c.name} <span class="count">{c.count}</span>
                    </a>
                  ))}
                </div>
              ))}
            </div>
          )}
        </Loaded>
      </section>
      <section>
        <h2>People</h2>
        <Loaded state={owners}>
          {({ owners: list }) => (
            <div class="chips">
              {list.map((o) => (
                <a class="chip" key={o.name} href={href.person(o.name)}>
                  {o.name} <span class="count">{o.photos}</span>
                </a>
              ))}
              {list.length >= 2 && (
                <a class="chip chip-action" href={href.compare(list[0].name, list[1].name)}>
                  Compare {list[0].name} and {list[1].name} →
                </a>
              )}
            </div>
          )}
        </Loaded>
      </section>
    </div>
  );
}
