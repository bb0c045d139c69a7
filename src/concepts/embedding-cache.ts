// Embeddings (and class probabilities) of many files, computed once per model and cached on disk, so training and
// evaluating heads over the shared photo sets takes seconds instead of re-decoding every photo.
import { createHash } from 'node:crypto';
import { mkdir, readFile, realpath, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cacheDir } from '../config/paths.js';
import type { Engine } from '../vision/engine.js';
import { classifyFiles } from '../vision/pipeline.js';

/** One file's model outputs; `error` when the file could not be classified. */
export interface EmbeddedFile {
  file: string;
  embedding: Float32Array;
  probs: Float32Array;
}

interface CacheFile {
  format: 1;
  model: { id: string; sha256: string };
  /** `path|size|mtimeMs` per file, in order. */
  keys: string[];
  dim: number;
  classes: number;
  /** base64 of float32 embeddings (n x dim) then probabilities (n x classes). */
  data: string;
}

/** The cache key of a file: its real path (so ../shared/data and /abs/shared/data share a cache), size and mtime. */
async function fileKey(file: string): Promise<string> {
  const s = await stat(file);
  return `${await realpath(file)}|${s.size}|${Math.round(s.mtimeMs)}`;
}

/**
 * The embeddings of `files` by `engine`'s model: read from `$PICTOGRAPH_HOME/cache/embeddings-*.json` when the
 * same files (path, size, mtime) were embedded by the same model before, computed and cached otherwise.
 * A file that cannot be decoded throws (training sets must be clean).
 */
export async function embedFilesCached(
  files: string[],
  engine: Engine,
  opts: { env?: NodeJS.ProcessEnv; onProgress?: (done: number, total: number) => void } = {},
): Promise<EmbeddedFile[]> {
  const keys = await Promise.all(files.map(fileKey));
  const id = createHash('sha256').update(engine.model.sha256).update(keys.join('\n')).digest('hex').slice(0, 16);
  const path = join(cacheDir(opts.env), `embeddings-${engine.model.id}-${id}.json`);
  const cached = await readFile(path, 'utf8').then((t) => JSON.parse(t) as CacheFile).catch(() => null);
  if (cached && cached.format === 1 && cached.model.sha256 === engine.model.sha256 && cached.keys.join('\n') === keys.join('\n')) {
    return unpack(files, cached);
  }
  const out: EmbeddedFile[] = [];
  for await (const item of classifyFiles(files, { engine })) {
    if ('error' in item) throw new Error(`${item.file}: ${item.error.code}: ${item.error.message}`);
    out.push({ file: item.file, embedding: item.prediction.embedding, probs: item.prediction.probs });
    opts.onProgress?.(out.length, files.length);
  }
  const dim = out[0]?.embedding.length ?? 0;
  const classes = out[0]?.probs.length ?? 0;
  const all = new Float32Array(out.length * (dim + classes));
  out.forEach((e, i) => {
    all.set(e.embedding, i * dim);
    all.set(e.probs, out.length * dim + i * classes);
  });
  const file: CacheFile = {
    format: 1,
    model: { id: engine.model.id, sha256: engine.model.sha256 },
    keys,
    dim,
    classes,
    data: Buffer.from(all.buffer, all.byteOffset, all.byteLength).toString('base64'),
  };
  await mkdir(cacheDir(opts.env), { recursive: true });
  await writeFile(`${path}.tmp`, JSON.stringify(file));
  await rename(`${path}.tmp`, path);
  return out;
}

function unpack(files: string[], c: CacheFile): EmbeddedFile[] {
  const bytes = Uint8Array.from(Buffer.from(c.data, 'base64'));
  const all = new Float32Array(bytes.buffer, 0, bytes.byteLength / 4);
  const n = files.length;
  return files.map((file, i) => ({
    file,
    embedding: all.slice(i * c.dim, (i + 1) * c.dim),
    probs: all.slice(n * c.dim + i * c.classes, n * c.dim + (i + 1) * c.classes),
  }));
}
