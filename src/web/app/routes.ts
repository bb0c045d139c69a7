// The app's URL scheme: pure matching of a location to a page, and the hrefs that lead to each page.

export type Route =
  | { page: 'home' }
  | { page: 'category'; wnid: string; owner: string | null }
  | { page: 'tag'; tag: string; owner: string | null }
  | { page: 'photo'; id: string }
  | { page: 'person'; name: string }
  | { page: 'compare'; a: string | null; b: string | null }
  | { page: 'search'; q: string }
  | { page: 'upload' }
  | { page: 'teach' }
  | { page: 'people' }
  | { page: 'people-person'; id: string }
  | { page: 'not-found'; path: string };

export function matchRoute(pathname: string, search: string): Route {
  const params = new URLSearchParams(search);
  const parts = pathname.split('/').filter(Boolean).map((p) => {
    try {
      return decodeURIComponent(p);
    } catch {
      return p;
    }
  });
  if (parts.length === 0) return { page: 'home' };
  const [head, arg] = parts;
  if (parts.length === 2 && head === 'c') return { page: 'category', wnid: arg, owner: params.get('owner') || null };
  if (parts.length === 2 && head === 't') return { page: 'tag', tag: arg, owner: params.get('owner') || null };
  if (parts.length === 2 && head === 'p') return { page: 'photo', id: arg };
  if (parts.length === 2 && head === 'u') return { page: 'person', name: arg };
  if (parts.length === 1 && head === 'compare') return { page: 'compare', a: params.get('a') || null, b: params.get('b') || null };
  if (parts.length === 1 && head === 'search') return { page: 'search', q: params.get('q') ?? '' };
  if (parts.length === 1 && head === 'upload') return { page: 'upload' };
  if (parts.length === 1 && head === 'teach') return { page: 'teach' };
  if (parts.length === 1 && head === 'people') return { page: 'people' };
  if (parts.length === 2 && head === 'people') return { page: 'people-person', id: arg };
  return { page: 'not-found', path: pathname };
}

function withQuery(path: string, params: Record<string, string | null | undefined>): string {
  const search = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v) search.set(k, v);
  const s = search.toString();
  return s ? `${path}?${s}` : path;
}

export const href = {
  home: () => '/',
  category: (wnid: string, owner?: string | null) => withQuery(`/c/${encodeURIComponent(wnid)}`, { owner }),
  /** A tag's page (everyday "beach" or a custom "OWNER/NAME"). */
  tag: (id: string, owner?: string | null) => withQuery(`/t/${encodeURIComponent(id)}`, { owner }),
  /** Where a category-tree node leads: its tag's page or its synset's. */
  node: (n: { wnid: string; tag?: string }, owner?: string | null) => (n.tag !== undefined ? href.tag(n.tag, owner) : href.category(n.wnid, owner)),
  photo: (id: string | number) => `/p/${encodeURIComponent(id)}`,
  person: (name: string) => `/u/${encodeURIComponent(name)}`,
  compare: (a?: string | null, b?: string | null) => withQuery('/compare', { a, b }),
  search: (q: string) => withQuery('/search', { q }),
  upload: () => '/upload',
  teach: () => '/teach',
  people: () => '/people',
  peoplePerson: (id: string | number) => `/people/${encodeURIComponent(id)}`,
};
