// Opens the library database (SQLite in the Pictograph home, or PostgreSQL when DATABASE_URL is set) and migrates it.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Kysely, sql, Migrator, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
import { pictographHome } from '../config/paths.js';
import { migrationProvider, type Dialect } from './migrations.js';
import type { LibrarySchema } from './schema.js';

export type LibraryDb = Kysely<LibrarySchema>;

export interface Library {
  db: LibraryDb;
  dialect: Dialect;
  /** Human-readable location (file path or URL without password). */
  location: string;
  /** The driver underneath, for bulk paths that bypass the query builder (prepared statements, unnest). */
  raw: { sqlite: Database.Database } | { pool: pg.Pool };
  close(): Promise<void>;
}

/** The file beside a SQLite library that marks a new-library build under way (`buildNewLibrary` in bulk.ts). */
export const bulkBuildMarker = (sqliteFile: string) => `${sqliteFile}.bulk-build`;
/** The `library_meta` key that marks a PostgreSQL library's new-library build under way. */
export const BULK_BUILD_KEY = 'bulk_build';

function interrupted(location: string, how: string): Error {
  return new Error(`${location}: a bulk build of this library was interrupted (${how}): it is incomplete; delete it and build it again`);
}

export interface OpenLibraryOptions {
  env?: NodeJS.ProcessEnv;
  /** PostgreSQL URL; defaults to env.DATABASE_URL. When absent, SQLite is used. */
  databaseUrl?: string;
  /** SQLite file; defaults to `pictographHome()/pictograph.db`. */
  sqlitePath?: string;
  /** PostgreSQL schema to use (created if missing); lets test runs stay apart. */
  pgSchema?: string;
}

// PostgreSQL returns int8/numeric as strings; the library only counts small things, so parse them.
pg.types.setTypeParser(20, (v: string) => Number(v));
pg.types.setTypeParser(1700, (v: string) => Number(v));

export async function openLibrary(opts: OpenLibraryOptions = {}): Promise<Library> {
  const env = opts.env ?? process.env;
  const url = opts.databaseUrl ?? (env.DATABASE_URL && env.DATABASE_URL.trim() !== '' ? env.DATABASE_URL : undefined);
  let lib: Library;
  if (url) {
    const schema = opts.pgSchema;
    if (schema !== undefined && !/^[a-z_][a-z0-9_]*$/.test(schema)) throw new Error(`bad PostgreSQL schema name: ${schema}`);
    if (schema) {
      const admin = new pg.Client({ connectionString: url });
      await admin.connect();
      try {
        await admin.query(`create schema if not exists ${schema}`);
      } finally {
        await admin.end();
      }
    }
    const pool = new pg.Pool({ connectionString: url, max: 8, ...(schema ? { options: `-c search_path=${schema}` } : {}) });
    const db = new Kysely<LibrarySchema>({ dialect: new PostgresDialect({ pool }) });
    lib = { db, dialect: 'postgres', location: redact(url), raw: { pool }, close: () => db.destroy() };
  } else {
    const file = opts.sqlitePath ?? join(pictographHome(env), 'pictograph.db');
    mkdirSync(join(file, '..'), { recursive: true });
    if (existsSync(bulkBuildMarker(file))) throw interrupted(file, `${bulkBuildMarker(file)} is there`);
    const sqlite = new Database(file);
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('busy_timeout = 10000');
    sqlite.pragma('synchronous = NORMAL');
    sqlite.pragma('foreign_keys = ON');
    // 64 MB of page cache (SQLite's default is 2 MB): the node-score and count indexes of a large library stay hot
    sqlite.pragma('cache_size = -65536');
    const db = new Kysely<LibrarySchema>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }) });
    lib = { db, dialect: 'sqlite', location: file, raw: { sqlite }, close: () => db.destroy() };
  }
  try {
    await migrate(lib);
    if (lib.dialect === 'postgres' && (await lib.db.selectFrom('library_meta').select('value').where('key', '=', BULK_BUILD_KEY).executeTakeFirst()))
      throw interrupted(lib.location, `library_meta has ${BULK_BUILD_KEY}`);
  } catch (err) {
    await lib.close();
    throw err;
  }
  return lib;
}

/**
 * Brings the schema up to the latest migration; concurrent openers are serialised by the migrator's lock.
 * Two processes creating the migrator's own tables at the same moment can collide on PostgreSQL, so a failed
 * attempt is retried (migrations already applied are skipped).
 */
export async function migrate(lib: Library): Promise<void> {
  // Migrations are independent additions named by the work that added them (0010_issue10_..., 0016_issue16_...),
  // so a library that already ran a later-numbered one still takes an earlier-numbered newcomer.
  // On PostgreSQL the migrator's own tables are looked up in this connection's schema only: unnamed, Kysely finds
  // another schema's kysely_migration_lock (a second library in the same database) and never creates its own.
  const schema =
    lib.dialect === 'postgres' ? (await sql<{ s: string }>`select current_schema() as s`.execute(lib.db)).rows[0]?.s : undefined;
  const migrator = new Migrator({
    db: lib.db,
    provider: migrationProvider(lib.dialect),
    allowUnorderedMigrations: true,
    ...(schema ? { migrationTableSchema: schema } : {}),
  });
  let outcome = await migrator.migrateToLatest();
  for (let attempt = 1; outcome.error && attempt < 4; attempt++) {
    await new Promise((r) => setTimeout(r, 100 * attempt + Math.random() * 100));
    outcome = await migrator.migrateToLatest();
  }
  const { error, results } = outcome;
  if (error) {
    const failed = results?.find((r) => r.status === 'Error');
    const why = error instanceof Error ? error.message : String(error);
    throw new Error(`database migration ${failed?.migrationName ?? ''} failed on ${lib.location}: ${why}`);
  }
}

/** Drops a PostgreSQL schema (test clean-up). */
export async function dropPgSchema(url: string, schema: string): Promise<void> {
  if (!/^[a-z_][a-z0-9_]*$/.test(schema)) throw new Error(`bad PostgreSQL schema name: ${schema}`);
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    await admin.query(`drop schema if exists ${schema} cascade`);
  } finally {
    await admin.end();
  }
}

function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres';
  }
}

/** Current time as stored in the database (ISO-8601 UTC). */
export function nowIso(): string {
  return new Date().toISOString();
}

/** Prepared statements kept per SQL text (Kysely's SQLite driver prepares every query anew: ~10% of ingest). */
const STATEMENT_CACHE = 256;

/**
 * The database as Kysely's SQLite dialect sees it, with the last STATEMENT_CACHE prepared statements reused. A
 * statement still iterating (a streamed query) is never handed out twice: that caller gets a fresh one.
 */
export function withStatementCache(sqlite: Database.Database): { close(): void; prepare(sql: string): Database.Statement } {
  const cache = new Map<string, Database.Statement>();
  return {
    close: () => {
      cache.clear();
      sqlite.close();
    },
    prepare(text: string) {
      const hit = cache.get(text);
      if (hit && !hit.busy) {
        cache.delete(text);
        cache.set(text, hit);
        return hit;
      }
      const stmt = sqlite.prepare(text);
      if (!hit) {
        cache.set(text, stmt);
        if (cache.size > STATEMENT_CACHE) cache.delete(cache.keys().next().value!);
      }
      return stmt;
    },
  };
}

