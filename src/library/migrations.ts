// Versioned schema migrations, in code, written once for both SQLite and PostgreSQL.
import type { Kysely, Migration, MigrationProvider } from 'kysely';
import { sql } from 'kysely';

export type Dialect = 'sqlite' | 'postgres';

/** Column types that differ between the two databases. */
function types(dialect: Dialect) {
  return {
    float: dialect === 'postgres' ? ('double precision' as const) : ('real' as const),
    blob: dialect === 'postgres' ? ('bytea' as const) : ('blob' as const),
  };
}

// Auto-incrementing integer primary key in either dialect.
function idColumn(db: Kysely<unknown>, dialect: Dialect, table: string) {
  const t = db.schema.createTable(table);
  return dialect === 'postgres'
    ? t.addColumn('id', 'serial', (c) => c.primaryKey())
    : t.addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement());
}

export function libraryMigrations(dialect: Dialect): Record<string, Migration> {
  const { float, blob } = types(dialect);
  return {
    '0001_initial': {
      async up(db: Kysely<unknown>) {
        await idColumn(db, dialect, 'owners')
          .addColumn('name', 'text', (c) => c.notNull().unique())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .execute();

        await idColumn(db, dialect, 'photos')
          .addColumn('owner_id', 'integer', (c) => c.notNull().references('owners.id').onDelete('cascade'))
          .addColumn('content_hash', 'text', (c) => c.notNull())
          .addColumn('original_path', 'text', (c) => c.notNull())
          .addColumn('file_name', 'text', (c) => c.notNull())
          .addColumn('size', 'integer', (c) => c.notNull())
          .addColumn('width', 'integer', (c) => c.notNull())
          .addColumn('height', 'integer', (c) => c.notNull())
          .addColumn('format', 'text', (c) => c.notNull())
          .addColumn('taken_at', 'text')
          .addColumn('camera', 'text')
          .addColumn('orientation', 'integer')
          .addColumn('gps_lat', float)
          .addColumn('gps_lon', float)
          .addColumn('thumb_small', 'text')
          .addColumn('thumb_large', 'text')
          .addColumn('visibility', 'text', (c) => c.notNull().defaultTo('private').check(sql`visibility in ('private', 'public')`))
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addUniqueConstraint('photos_owner_hash_unique', ['owner_id', 'content_hash'])
          .execute();
        await db.schema.createIndex('photos_hash_idx').on('photos').column('content_hash').execute();
        await db.schema.createIndex('photos_visibility_idx').on('photos').columns(['visibility', 'id']).execute();

        await db.schema
          .createTable('analyses')
          .addColumn('photo_id', 'integer', (c) => c.primaryKey().references('photos.id').onDelete('cascade'))
          .addColumn('model_id', 'text', (c) => c.notNull())
          .addColumn('model_sha256', 'text', (c) => c.notNull())
          .addColumn('top_wnid', 'text', (c) => c.notNull())
          .addColumn('top_score', float, (c) => c.notNull())
          .addColumn('hedged_wnid', 'text')
          .addColumn('hedged_name', 'text')
          .addColumn('hedged_score', float)
          .addColumn('hedged_target', float)
          .addColumn('labels', 'text', (c) => c.notNull())
          .addColumn('categories', 'text', (c) => c.notNull())
          .addColumn('embedding', blob, (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('analyses_model_idx').on('analyses').column('model_id').execute();

        await db.schema
          .createTable('node_scores')
          .addColumn('photo_id', 'integer', (c) => c.notNull().references('photos.id').onDelete('cascade'))
          .addColumn('wnid', 'text', (c) => c.notNull())
          .addColumn('score', float, (c) => c.notNull())
          .addPrimaryKeyConstraint('node_scores_pk', ['photo_id', 'wnid'])
          .execute();
        // "All photos under X, best first" = a range scan of this index with a keyset cursor.
        await db.schema
          .createIndex('node_scores_wnid_score_idx')
          .on('node_scores')
          .expression(sql`wnid, score desc, photo_id`)
          .execute();

        await idColumn(db, dialect, 'failures')
          .addColumn('owner_id', 'integer', (c) => c.notNull().references('owners.id').onDelete('cascade'))
          .addColumn('path', 'text', (c) => c.notNull())
          .addColumn('code', 'text', (c) => c.notNull())
          .addColumn('reason', 'text', (c) => c.notNull())
          .addColumn('at', 'text', (c) => c.notNull())
          .addUniqueConstraint('failures_owner_path_unique', ['owner_id', 'path'])
          .execute();

        await idColumn(db, dialect, 'feedback')
          .addColumn('photo_id', 'integer', (c) => c.notNull().references('photos.id').onDelete('cascade'))
          .addColumn('owner_id', 'integer', (c) => c.references('owners.id').onDelete('set null'))
          .addColumn('model_id', 'text', (c) => c.notNull())
          .addColumn('correct', 'integer', (c) => c.notNull())
          .addColumn('wnid', 'text')
          .addColumn('at', 'text', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('feedback_model_idx').on('feedback').columns(['model_id', 'photo_id']).execute();

        await idColumn(db, dialect, 'tokens')
          .addColumn('owner_id', 'integer', (c) => c.references('owners.id').onDelete('cascade'))
          .addColumn('token_hash', 'text', (c) => c.notNull().unique())
          .addColumn('admin', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('created_at', 'text', (c) => c.notNull())
          .execute();
      },
    },
    // Animations (issue 15): an animation is a photo with a timeline; its analysis row holds the whole
    // animation's labels, and this row its keyframes and scenes (JSON). Deleted with the photo.
    '0015_issue15_timeline': {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('timelines')
          .addColumn('photo_id', 'integer', (c) => c.primaryKey().references('photos.id').onDelete('cascade'))
          .addColumn('duration_ms', 'integer', (c) => c.notNull())
          .addColumn('frames', 'integer', (c) => c.notNull())
          .addColumn('declared_frames', 'integer', (c) => c.notNull())
          .addColumn('notice', 'text')
          .addColumn('keyframes', 'text', (c) => c.notNull())
          .addColumn('segments', 'text', (c) => c.notNull())
          .execute();
      },
      async down(db: Kysely<unknown>) {
        await db.schema.dropTable('timelines').execute();
      },
    },
  };
}

/** A Kysely MigrationProvider over the in-code migrations (add new ones with a higher prefix). */
export function migrationProvider(dialect: Dialect): MigrationProvider {
  return { getMigrations: async () => libraryMigrations(dialect) };
}
