// A real Pictograph server for the web tests: a throwaway home, calib photos ingested for two public owners
// (alice: dogs and other animals; bob: artefacts), a token for alice, listening on 127.0.0.1.
import { readFileSync, existsSync, statSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { build } from 'vite';
import { calibImages, calibLabels, repoRoot, tempHome } from '../../support/env.js';
import { Engine } from '../../../src/vision/engine.js';
import { loadTaxonomy } from '../../../src/taxonomy/analysis.js';
import { openLibrary, type Library } from '../../../src/library/db.js';
import { ingestFiles } from '../../../src/library/ingest.js';
import { findOwnerId } from '../../../src/library/store.js';
import { createToken } from '../../../src/library/tokens.js';
import { createServer } from '../../../src/server/app.js';

export interface CalibPhoto {
  file: string;
  wnid: string;
  classIndex: number;
  name: string;
}

export function calibPhotos(): CalibPhoto[] {
  const [header, ...rows] = readFileSync(calibLabels, 'utf8').trim().split('\n').map((l) => l.split('\t'));
  const col = (n: string) => header.indexOf(n);
  return rows.map((r) => ({
    file: join(calibImages, r[col('file')]),
    wnid: r[col('wnid')],
    classIndex: Number(r[col('class_index')]),
    name: r[col('name')],
  }));
}

/** ImageNet-1k class indexes of the dog breeds (151..268) and of all animals (0..397). */
export const isDogClass = (i: number): boolean => i >= 151 && i <= 268;
export const isAnimalClass = (i: number): boolean => i <= 397;

const webRoot = join(repoRoot, 'dist', 'web');
const appRoot = join(repoRoot, 'src', 'web', 'app');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/** Builds dist/web with Vite when it is missing or older than the app's sources. */
export async function ensureWebBuild(): Promise<string> {
  const index = join(webRoot, 'index.html');
  if (!existsSync(index) || statSync(index).mtimeMs < newestMtime(appRoot)) {
    await build({ configFile: join(repoRoot, 'vite.config.ts'), logLevel: 'error' });
  }
  return webRoot;
}

export interface SeededServer {
  url: string;
  app: FastifyInstance;
  lib: Library;
  /** alice's bearer token. */
  aliceToken: string;
  alice: CalibPhoto[];
  bob: CalibPhoto[];
  close(): Promise<void>;
}

export async function startSeededServer(opts: { extraAnimals?: number; artefacts?: number } = {}): Promise<SeededServer> {
  const webRootDir = await ensureWebBuild();
  const home = tempHome('pictograph-web-');
  const lib = await openLibrary({ env: home.env });
  const engine = await Engine.load({ env: home.env });
  const taxonomy = await loadTaxonomy({ modelId: engine.model.id, env: home.env });
  const app = await createServer({ db: lib.db, engine, taxonomy, env: home.env, config: { logger: false, webRoot: webRootDir } });
  const photos = calibPhotos();
  const dogs = photos.filter((p) => isDogClass(p.classIndex));
  const otherAnimals = photos.filter((p) => isAnimalClass(p.classIndex) && !isDogClass(p.classIndex)).slice(0, opts.extraAnimals ?? 24);
  const artefacts = photos.filter((p) => p.classIndex >= 400).filter((_, i) => i % 3 === 0).slice(0, opts.artefacts ?? 40);
  const alice = [...dogs, ...otherAnimals];
  const bob = artefacts;
  const recognizer = app.pictograph.runtime.recognizer();
  for (const [owner, list] of [['alice', alice], ['bob', bob]] as const) {
    const summary = await ingestFiles(list.map((p) => p.file), { owner, visibility: 'public', recognizer, db: lib.db, env: home.env });
    if (summary.failed > 0) throw new Error(`seeding ${owner}: ${summary.failed} failed: ${JSON.stringify(summary.errors.slice(0, 3))}`);
  }
  const aliceId = await findOwnerId(lib.db, 'alice');
  if (aliceId === undefined) throw new Error('seeding: alice missing');
  const { token } = await createToken(lib.db, { ownerId: aliceId });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  if (!address || typeof address === 'string') throw new Error('server has no TCP address');
  return {
    url: `http://127.0.0.1:${address.port}`,
    app,
    lib,
    aliceToken: token,
    alice,
    bob,
    async close() {
      await app.close();
      await engine.close();
      await lib.close();
      home.cleanup();
    },
  };
}
