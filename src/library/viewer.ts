// Who is asking: every library query takes a Viewer and returns only what that viewer may see.
import { sql, type RawBuilder, type SqlBool } from 'kysely';

/**
 * `admin` sees everything (the local CLI); `owner` sees their own photos plus everyone's public ones;
 * `public` sees public photos only.
 */
export type Viewer = { kind: 'admin' } | { kind: 'owner'; ownerId: number } | { kind: 'public' };

export const ADMIN: Viewer = { kind: 'admin' };
export const PUBLIC: Viewer = { kind: 'public' };
export function ownerViewer(ownerId: number): Viewer {
  return { kind: 'owner', ownerId };
}

/** SQL condition over the photos table (under `alias`) limiting rows to what `viewer` may see. */
export function visibleTo(viewer: Viewer, alias = 'p'): RawBuilder<SqlBool> {
  const owner = sql.ref(`${alias}.owner_id`);
  const visibility = sql.ref(`${alias}.visibility`);
  switch (viewer.kind) {
    case 'admin':
      return sql<SqlBool>`1 = 1`;
    case 'public':
      return sql<SqlBool>`${visibility} = 'public'`;
    case 'owner':
      return sql<SqlBool>`(${owner} = ${viewer.ownerId} or ${visibility} = 'public')`;
  }
}

/** Pure check of the same rule for one row already in memory. */
export function canSee(viewer: Viewer, photo: { owner_id: number; visibility: string }): boolean {
  if (viewer.kind === 'admin') return true;
  if (photo.visibility === 'public') return true;
  return viewer.kind === 'owner' && viewer.ownerId === photo.owner_id;
}
