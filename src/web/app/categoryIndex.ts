// Which consumer categories lie under a synset: the categories' paths to `entity`, fetched once per session.
import { api } from './api.js';
import type { Category, SynsetRef } from './types.js';

let paths: Promise<Map<string, SynsetRef[]>> | null = null;

function loadPaths(categories: Category[]): Promise<Map<string, SynsetRef[]>> {
  if (!paths) {
    paths = Promise.all(
      categories.map((c) =>
        api.synset(c.wnid).then(
          (s) => [c.wnid, s.path] as const,
          () => [c.wnid, [] as SynsetRef[]] as const,
        ),
      ),
    ).then((entries) => new Map(entries));
    paths.catch(() => {
      paths = null;
    });
  }
  return paths;
}

/** Consumer categories (with counts, for `owner` when given) strictly below `wnid` in the hierarchy. */
export async function categoriesUnder(wnid: string, owner: string | null): Promise<Category[]> {
  const { categories } = await api.categories(owner ?? undefined);
  const byWnid = await loadPaths(categories);
  return categories.filter((c) => {
    if (c.wnid === wnid || (c.count ?? 0) <= 0) return false;
    const path = byWnid.get(c.wnid) ?? [];
    return path.some((p) => p.wnid === wnid);
  });
}
