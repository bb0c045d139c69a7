// A command-line session over the library: the database, who is asking (admin, or `--as OWNER`), the taxonomy view.
import { loadHierarchy } from '../taxonomy/load.js';
import { openLibrary, type Library } from './db.js';
import { LibraryError } from './errors.js';
import { hierarchyView } from './hierarchy-view.js';
import { findOwnerId } from './store.js';
import type { TaxonomyView } from './taxonomy-view.js';
import { ADMIN, ownerViewer, type Viewer } from './viewer.js';

export interface LibrarySession {
  lib: Library;
  viewer: Viewer;
  taxonomy(): Promise<TaxonomyView>;
  close(): Promise<void>;
}

/** Opens the library; `as` scopes every query to that owner (their photos + everyone's public ones). */
export async function openSession(opts: { env?: NodeJS.ProcessEnv; as?: string } = {}): Promise<LibrarySession> {
  const env = opts.env ?? process.env;
  const lib = await openLibrary({ env });
  try {
    let viewer: Viewer = ADMIN;
    if (opts.as !== undefined) {
      const id = await findOwnerId(lib.db, opts.as);
      if (id === undefined) throw new LibraryError('unknown_owner', `no owner named ${JSON.stringify(opts.as)}`);
      viewer = ownerViewer(id);
    }
    let view: Promise<TaxonomyView> | undefined;
    return {
      lib,
      viewer,
      taxonomy: () => (view ??= loadHierarchy('imagenet-1k', { env }).then(hierarchyView)),
      close: () => lib.close(),
    };
  } catch (err) {
    await lib.close();
    throw err;
  }
}
