// Library statistics: photos, owners, failed files and per-model counts, over what the viewer may see.
import type { LibraryDb } from './db.js';
import { visibleTo, type Viewer } from './viewer.js';

export interface LibraryStats {
  photos: number;
  owners: number;
  failed: number;
  models: { id: string; sha256: string; photos: number }[];
}

export async function libraryStats(db: LibraryDb, viewer: Viewer): Promise<LibraryStats> {
  const photos = await db
    .selectFrom('photos as p')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where(visibleTo(viewer, 'p'))
    .executeTakeFirstOrThrow();
  const owners =
    viewer.kind === 'admin'
      ? await db.selectFrom('owners').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()
      : await db
          .selectFrom('photos as p')
          .select((eb) => eb.fn.count<number>('p.owner_id').distinct().as('n'))
          .where(visibleTo(viewer, 'p'))
          .executeTakeFirstOrThrow();
  let failedQ = db.selectFrom('failures').select((eb) => eb.fn.countAll<number>().as('n'));
  if (viewer.kind === 'owner') failedQ = failedQ.where('owner_id', '=', viewer.ownerId);
  const failed = viewer.kind === 'public' ? { n: 0 } : await failedQ.executeTakeFirstOrThrow();
  const models = await db
    .selectFrom('analyses as a')
    .innerJoin('photos as p', 'p.id', 'a.photo_id')
    .select(['a.model_id', 'a.model_sha256', (eb) => eb.fn.countAll<number>().as('n')])
    .where(visibleTo(viewer, 'p'))
    .groupBy(['a.model_id', 'a.model_sha256'])
    .orderBy('a.model_id')
    .execute();
  return {
    photos: Number(photos.n),
    owners: Number(owners.n),
    failed: Number(failed.n),
    models: models.map((m) => ({ id: m.model_id, sha256: m.model_sha256, photos: Number(m.n) })),
  };
}
