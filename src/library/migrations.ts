// Versioned schema migrations, in code, written once for both SQLite and PostgreSQL.
import type { Kysely, Migration, MigrationProvider } from 'kysely';
import { sql } from 'kysely';
import { expectedCountsSql } from './counts.js';
import { bytesToEmbedding, compactEmbedding, isCompactEmbedding } from './embedding.js';
import { createTermsTable } from './terms.js';

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
    // Browser sessions (HttpOnly cookie, stored hashed; a token's sessions go with it) and one-time sign-in codes.
    '0016_issue16_sessions': {
      async up(db: Kysely<unknown>) {
        await idColumn(db, dialect, 'browser_sessions')
          .addColumn('session_hash', 'text', (c) => c.notNull().unique())
          .addColumn('owner_id', 'integer', (c) => c.references('owners.id').onDelete('cascade'))
          .addColumn('admin', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('token_id', 'integer', (c) => c.references('tokens.id').onDelete('cascade'))
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('expires_at', 'text', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('browser_sessions_expires_idx').on('browser_sessions').column('expires_at').execute();
        await idColumn(db, dialect, 'sign_in_codes')
          .addColumn('code_hash', 'text', (c) => c.notNull().unique())
          .addColumn('owner_id', 'integer', (c) => c.notNull().references('owners.id').onDelete('cascade'))
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('expires_at', 'text', (c) => c.notNull())
          .execute();
      },
    },
    // Feedback is one judgement per (voter, photo): `voter` is `owner:<id>` for a signed-in owner, `admin`, or
    // `client:<hash>` for an anonymous client (a hash of its address); older rows have none.
    '0017_issue17_feedback_voter': {
      async up(db: Kysely<unknown>) {
        await db.schema.alterTable('feedback').addColumn('voter', 'text').execute();
        await db.schema.createIndex('feedback_photo_voter_unique').on('feedback').columns(['photo_id', 'voter']).unique().execute();
      },
    },
    '0012_issue12_scale': {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('concept_counts')
          .addColumn('owner_id', 'integer', (c) => c.notNull())
          .addColumn('visibility', 'text', (c) => c.notNull())
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('key', 'text', (c) => c.notNull())
          .addColumn('photos', dialect === 'postgres' ? 'bigint' : 'integer', (c) => c.notNull())
          .addColumn('score_micros', dialect === 'postgres' ? 'bigint' : 'integer', (c) => c.notNull())
          .addPrimaryKeyConstraint('concept_counts_pk', ['owner_id', 'visibility', 'kind', 'key'])
          .execute();
        // Existing libraries: counts from the photos already stored.
        await sql`insert into concept_counts (owner_id, visibility, kind, key, photos, score_micros) ${expectedCountsSql(dialect)}`.execute(db);
        await db.schema
          .createTable('library_meta')
          .addColumn('key', 'text', (c) => c.primaryKey())
          .addColumn('value', 'text', (c) => c.notNull())
          .execute();
        // Word search: the photos' synset terms in a full-text index (FTS5 / tsvector + GIN).
        await createTermsTable(db, dialect);
        // "One owner's photos under X, best first" as one range of its own index.
        await sql`alter table node_scores add column owner_id integer not null default 0`.execute(db);
        await sql`update node_scores set owner_id = (select p.owner_id from photos p where p.id = node_scores.photo_id)`.execute(db);
        await sql`create index node_scores_owner_idx on node_scores (wnid, owner_id, score desc, photo_id)`.execute(db);
      },
    },
    '0010_issue10_concepts': {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('photo_tags')
          .addColumn('photo_id', 'integer', (c) => c.notNull().references('photos.id').onDelete('cascade'))
          .addColumn('concept_id', 'text', (c) => c.notNull())
          .addColumn('score', float, (c) => c.notNull())
          .addPrimaryKeyConstraint('photo_tags_pk', ['photo_id', 'concept_id'])
          .execute();
        await db.schema.createIndex('photo_tags_concept_score_idx').on('photo_tags').expression(sql`concept_id, score desc, photo_id`).execute();
        await idColumn(db, dialect, 'concepts')
          .addColumn('owner_id', 'integer', (c) => c.notNull().references('owners.id').onDelete('cascade'))
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('wnid', 'text')
          .addColumn('head', 'text', (c) => c.notNull())
          .addColumn('report', 'text', (c) => c.notNull())
          .addColumn('examples', 'text', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('updated_at', 'text', (c) => c.notNull())
          .addUniqueConstraint('concepts_owner_name_unique', ['owner_id', 'name'])
          .execute();
        // "Was this right?" about a custom concept's tag ("OWNER/NAME"): the next retrain's examples.
        await db.schema.alterTable('feedback').addColumn('concept_id', 'text').execute();
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
    // People (issue 11): faces found in photos, grouped per owner into people the owner can name.
    '0011_issue11_faces': {
      async up(db: Kysely<unknown>) {
        // Per-owner switch (face detection on by default) and opt-in to show names on public photos.
        await db.schema.alterTable('owners').addColumn('faces_enabled', 'integer', (c) => c.notNull().defaultTo(1)).execute();
        await db.schema.alterTable('owners').addColumn('faces_public', 'integer', (c) => c.notNull().defaultTo(0)).execute();

        await idColumn(db, dialect, 'people')
          .addColumn('owner_id', 'integer', (c) => c.notNull().references('owners.id').onDelete('cascade'))
          .addColumn('name', 'text')
          .addColumn('created_at', 'text', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('people_owner_idx').on('people').columns(['owner_id', 'name']).execute();

        // One row per photo that went through face detection (also when it found nobody): the detector, the
        // people count and the person/group/portrait tags it decided.
        await db.schema
          .createTable('face_scans')
          .addColumn('photo_id', 'integer', (c) => c.primaryKey().references('photos.id').onDelete('cascade'))
          .addColumn('detector', 'text', (c) => c.notNull())
          .addColumn('people', 'integer', (c) => c.notNull())
          .addColumn('person_score', float, (c) => c.notNull())
          .addColumn('tags', 'text', (c) => c.notNull())
          .addColumn('at', 'text', (c) => c.notNull())
          .execute();

        await idColumn(db, dialect, 'faces')
          .addColumn('photo_id', 'integer', (c) => c.notNull().references('photos.id').onDelete('cascade'))
          .addColumn('owner_id', 'integer', (c) => c.notNull().references('owners.id').onDelete('cascade'))
          .addColumn('x', float, (c) => c.notNull())
          .addColumn('y', float, (c) => c.notNull())
          .addColumn('w', float, (c) => c.notNull())
          .addColumn('h', float, (c) => c.notNull())
          .addColumn('score', float, (c) => c.notNull())
          .addColumn('landmarks', 'text', (c) => c.notNull())
          .addColumn('embedding', blob)
          .addColumn('person_id', 'integer', (c) => c.references('people.id').onDelete('set null'))
          // 'auto' (clustering) or 'owner' (named, merged or moved by the owner; clustering never moves it).
          .addColumn('assigned_by', 'text', (c) => c.notNull().defaultTo('auto'))
          .addColumn('created_at', 'text', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('faces_photo_idx').on('faces').column('photo_id').execute();
        await db.schema.createIndex('faces_owner_person_idx').on('faces').columns(['owner_id', 'person_id']).execute();

        // "Not this person": a face never goes back to a person the owner took it from.
        await db.schema
          .createTable('face_rejections')
          .addColumn('face_id', 'integer', (c) => c.notNull().references('faces.id').onDelete('cascade'))
          .addColumn('person_id', 'integer', (c) => c.notNull().references('people.id').onDelete('cascade'))
          .addPrimaryKeyConstraint('face_rejections_pk', ['face_id', 'person_id'])
          .execute();
      },
    },
    // SQLite: the count table clustered by its primary key (WITHOUT ROWID), so that one owner's counts are a few
    // contiguous pages rather than thousands of rows scattered over a large table (cold reads at a million photos).
    '0012_issue12_scale_counts_clustered': {
      async up(db: Kysely<unknown>) {
        if (dialect !== 'sqlite') return;
        await sql`create table concept_counts_clustered (owner_id integer not null, visibility text not null, kind text not null, key text not null,
          photos integer not null, score_micros integer not null, primary key (owner_id, visibility, kind, key)) without rowid`.execute(db);
        await sql`insert into concept_counts_clustered select owner_id, visibility, kind, key, photos, score_micros from concept_counts`.execute(db);
        await sql`drop table concept_counts`.execute(db);
        await sql`alter table concept_counts_clustered rename to concept_counts`.execute(db);
      },
    },
    // Photo embeddings stored compact (int8 + a per-vector scale, embedding.ts): ~1.3 KB instead of 5 KB per photo.
    // Existing float32 rows are converted in id order, a batch at a time; readers accept either form.
    '0012_issue12_to_int8_embeddings': {
      async up(db: Kysely<unknown>) {
        const kdb = db as Kysely<{ analyses: { photo_id: number; embedding: Uint8Array } }>;
        for (let after = -1; ; ) {
          const rows = await kdb.selectFrom('analyses').select(['photo_id', 'embedding']).where('photo_id', '>', after).orderBy('photo_id').limit(1000).execute();
          for (const r of rows) {
            if (isCompactEmbedding(r.embedding)) continue;
            await kdb.updateTable('analyses').set({ embedding: compactEmbedding(bytesToEmbedding(r.embedding)) }).where('photo_id', '=', r.photo_id).execute();
          }
          if (rows.length < 1000) break;
          after = rows[rows.length - 1]!.photo_id;
        }
      },
    },
    // Tags become a maintained count kind (issue 10, one hierarchy): count the tags already stored. On a new
    // library the count table does not exist yet here (0012 creates it, already counting tags).
    '0010_issue10_tag_counts': {
      async up(db: Kysely<unknown>) {
        if (!(await tableExists(db, dialect, 'concept_counts'))) return;
        await sql`delete from concept_counts where kind = 'tag'`.execute(db);
        await sql`insert into concept_counts (owner_id, visibility, kind, key, photos, score_micros)
          select owner_id, visibility, kind, key, photos, score_micros from (${expectedCountsSql(dialect)}) e where e.kind = 'tag'`.execute(db);
      },
    },
    // SQLite: who may see each photo, in an index of its own (~13 bytes a photo: 13 MB at 1,000,000 where the photos
    // table is ~270 MB). The similar photos' visibility check reads it for every candidate the ANN index proposes
    // (240 a query); from the table those were random page reads on a cold cache, from this index they are cached,
    // the index being read once as the similar index opens (1,000,000 photos, page cache dropped: the owner viewer's
    // similar-photos p95 44-45 -> 28-29 ms).
    // PostgreSQL answers the same check from its own indexes (index-only scans, see bulk.ts).
    '0012_issue12_photo_access_idx': {
      async up(db: Kysely<unknown>) {
        if (dialect !== 'sqlite') return;
        await sql`create index if not exists photos_access_idx on photos (id, owner_id, visibility)`.execute(db);
      },
    },
    // PostgreSQL: the number of distinct photos among the node scores, fixed as a share of the rows (a photo has
    // ~28 node scores, 1/28 = 0.036). ANALYZE's estimate from its 30,000-row sample falls far short when a photo's
    // node scores lie together, as ingest and the bulk path write them (156,000 estimated for 1,000,000 photos),
    // and the planner then sizes a Memoize node for that many entries in the category page's join: 20-25 ms to set
    // up for 0.5 ms of index work. The setting outlives every later ANALYZE (autovacuum's too).
    '0012_issue12_scale_node_scores_ndistinct': {
      async up(db: Kysely<unknown>) {
        if (dialect !== 'postgres') return;
        await sql`alter table node_scores alter column photo_id set (n_distinct = -0.036)`.execute(db);
      },
    },
  };
}

/**
 * Whether `table` exists where this connection's queries find it: the first schema of PostgreSQL's search_path
 * (Kysely's introspection lists every schema's tables, and a test server holds many), or the SQLite file.
 */
async function tableExists(db: Kysely<unknown>, dialect: Dialect, table: string): Promise<boolean> {
  if (dialect === 'postgres') {
    const r = await sql<{ found: string | null }>`select to_regclass(${table})::text as found`.execute(db);
    return r.rows[0]?.found != null;
  }
  const r = await sql<{ name: string }>`select name from sqlite_master where type = 'table' and name = ${table}`.execute(db);
  return r.rows.length > 0;
}

/** A Kysely MigrationProvider over the in-code migrations (add new ones with a higher prefix). */
export function migrationProvider(dialect: Dialect): MigrationProvider {
  return { getMigrations: async () => libraryMigrations(dialect) };
}
