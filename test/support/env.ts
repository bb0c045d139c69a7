// Test fixtures: locations of the shared data set and model mirror, and throwaway Pictograph homes.
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const repoRoot = resolve(new URL('../..', import.meta.url).pathname);
/** `../shared` beside the clone (CI lays it there); `PICTOGRAPH_SHARED` overrides. */
export const sharedDir = resolve(process.env.PICTOGRAPH_SHARED ?? join(repoRoot, '..', 'shared'));
export const modelMirror = join(sharedDir, 'models');
export const calibImages = join(sharedDir, 'data', 'imagenet-calib', 'images');
export const calibLabels = join(sharedDir, 'data', 'imagenet-calib', 'labels.tsv');
export const photosDir = join(sharedDir, 'data', 'photos', 'images');
export const photosManifest = join(sharedDir, 'data', 'photos', 'manifest.tsv');

if (!existsSync(sharedDir)) {
  throw new Error(`tests need ../shared beside the repository (looked in ${sharedDir}); set PICTOGRAPH_SHARED`);
}

/** A fresh PICTOGRAPH_HOME for one test file; returns its path and a cleanup. */
export function tempHome(prefix = 'pictograph-test-'): { home: string; env: NodeJS.ProcessEnv; cleanup: () => void } {
  const home = mkdtempSync(join(tmpdir(), prefix));
  const env = { ...process.env, PICTOGRAPH_HOME: home, PICTOGRAPH_MODEL_MIRROR: modelMirror };
  return { home, env, cleanup: () => rmSync(home, { recursive: true, force: true }) };
}
