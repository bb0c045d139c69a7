// Test fixture for the server: a fresh home and database (SQLite, or PostgreSQL when
// PICTOGRAPH_TEST_DATABASE_URL is set), the real model, two owners with calib photos, and their tokens.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { openLibrary, dropPgSchema, type Library } from '../../src/library/db.js';
import { ingestFiles } from '../../src/library/ingest.js';
import { ensureOwner } from '../../src/library/store.js';
import { createToken } from '../../src/library/tokens.js';
import { Engine } from '../../src/vision/engine.js';
import { loadTaxonomy, type Taxonomy } from '../../src/taxonomy/analysis.js';
import { createServer } from '../../src/server/app.js';
import type { ServerConfig } from '../../src/server/config.js';
import { calibImages, calibLabels, tempHome } from '../support/env.js';

export interface CalibPhoto {
  file: string;
  wnid: string;
  index: number;
}

export function calibPhotos(): CalibPhoto[] {
  return readFileSync(calibLabels, 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .map((line) => {
      const [file, wnid, index] = line.split('\t');
      return { file: join(calibImages, file!), wnid: wnid!, index: Number(index) };
    });
}

export interface Fixture {
  home: string;
  env: NodeJS.ProcessEnv;
  lib: Library;
  engine: Engine;
  taxonomy: Taxonomy;
  app: FastifyInstance;
  tokens: { alice: string; bob: string; admin: string };
  /** Photo ids by owner and visibility. */
  photos: { alicePublic: number[]; alicePrivate: number[]; bobPublic: number[]; bobPrivate: number[] };
  close(): Promise<void>;
}

/** Dogs (ImageNet 151-268) and other animals for alice; artefacts (409+) for bob. Half public, half private. */
export async function createFixture(config: Partial<ServerConfig> = {}, opts: { perGroup?: number } = {}): Promise<Fixture> {
  const { home, env, cleanup } = tempHome('pictograph-server-');
  const pgUrl = process.env.PICTOGRAPH_TEST_DATABASE_URL;
  const pgSchema = pgUrl ? `server_test_${process.pid}_${Date.now()}` : undefined;
  const lib = await openLibrary({ env: { ...env, DATABASE_URL: '' }, databaseUrl: pgUrl, pgSchema });
  const engine = await Engine.load({ env });
  const taxonomy = await loadTaxonomy({ modelId: engine.model.id, env });
  const app = await createServer({ db: lib.db, engine, taxonomy, env, config: { webRoot: null, ...config } });
  await app.ready();

  const n = opts.perGroup ?? 5;
  const all = calibPhotos();
  const dogs = all.filter((p) => p.index >= 151 && p.index <= 268);
  const otherAnimals = all.filter((p) => p.index < 151);
  const artefacts = all.filter((p) => p.index >= 409 && p.index < 900);
  const pick = (list: CalibPhoto[], from: number, k: number) => list.slice(from, from + k).map((p) => p.file);
  const recognizer = app.pictograph.runtime.recognizer();
  const ingest = async (owner: string, files: string[], visibility: 'public' | 'private') =>
    (await ingestFiles(files, { owner, visibility, recognizer, db: lib.db, env })).photoIds;

  const photos = {
    alicePublic: await ingest('alice', [...pick(dogs, 0, n), ...pick(otherAnimals, 0, 2)], 'public'),
    alicePrivate: await ingest('alice', [...pick(dogs, n, n), ...pick(otherAnimals, 2, 2)], 'private'),
    bobPublic: await ingest('bob', pick(artefacts, 0, n + 2), 'public'),
    bobPrivate: await ingest('bob', [...pick(artefacts, n + 2, n), ...pick(dogs, 2 * n, 2)], 'private'),
  };
  const aliceId = await ensureOwner(lib.db, 'alice');
  const bobId = await ensureOwner(lib.db, 'bob');
  await ensureOwner(lib.db, 'carol');
  const tokens = {
    alice: (await createToken(lib.db, { ownerId: aliceId })).token,
    bob: (await createToken(lib.db, { ownerId: bobId })).token,
    admin: (await createToken(lib.db, { ownerId: null, admin: true })).token,
  };
  return {
    home,
    env,
    lib,
    engine,
    taxonomy,
    app,
    tokens,
    photos,
    async close() {
      await app.close();
      await engine.close();
      await lib.close();
      if (pgUrl && pgSchema) await dropPgSchema(pgUrl, pgSchema);
      cleanup();
    },
  };
}

export function bearer(token: string): { authorization: string } {
  return { authorization: `Bearer ${token}` };
}
