// Where Pictograph keeps its data on disk: the home folder (models, database, thumbnails, caches).
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

/** `$PICTOGRAPH_HOME`, else `$XDG_DATA_HOME/pictograph`, else `~/.local/share/pictograph`. */
export function pictographHome(env: NodeJS.ProcessEnv = process.env): string {
  if (env.PICTOGRAPH_HOME) return resolve(env.PICTOGRAPH_HOME);
  const xdg = env.XDG_DATA_HOME && env.XDG_DATA_HOME.trim() !== '' ? env.XDG_DATA_HOME : join(homedir(), '.local', 'share');
  return join(resolve(xdg), 'pictograph');
}

/** Cached, verified model files. */
export function modelsDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(pictographHome(env), 'models');
}

/** Generated caches (compiled WordNet hierarchy, calibrations). */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(pictographHome(env), 'cache');
}

/** Thumbnails and stored originals of ingested photos. */
export function mediaDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(pictographHome(env), 'media');
}

/** The project's own root folder (for committed data files such as `data/imagenet-1k-classes.tsv`). */
export const projectRoot: string = resolve(new URL('../..', import.meta.url).pathname);

/** Committed data files of the project. */
export function projectDataFile(name: string): string {
  return join(projectRoot, 'data', name);
}

/** Saved similar-photo (ANN) indexes, rebuilt from the database when missing. */
export function similarDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(pictographHome(env), 'similar');
}
