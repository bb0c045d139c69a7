// Classifying many files: decoding (sharp's thread pool) overlaps batched inference (ONNX Runtime's
// threads); results come back in input order, and a bad file yields an error item without stopping the rest.
import { availableParallelism } from 'node:os';
import { readdir, stat } from 'node:fs/promises';
import { extname, join, resolve } from 'node:path';
import { decodePhoto, PhotoError, type DecodedPhoto, type PhotoErrorCode } from './decode.js';
import type { Engine, Prediction } from './engine.js';
import { MicroBatcher } from './batcher.js';

export const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.jpe', '.png', '.apng', '.webp', '.avif', '.tif', '.tiff', '.gif']);

export type ClassifyItem =
  | { file: string; decoded?: DecodedPhoto; prediction: Prediction }
  | { file: string; error: { code: PhotoErrorCode | 'inference_failed'; message: string } };

export interface ClassifyOptions {
  engine: Engine;
  /** Photos decoded at once (default: cores + 2). */
  concurrency?: number;
  /** Thumbnail sizes to make from the same decode (returned in `decoded`). */
  thumbnails?: number[];
  /** Return the decoded photo (tensor, size, EXIF, thumbnails) with each prediction (default: when thumbnails are asked for). */
  keepDecoded?: boolean;
  /** Largest inference batch (default 16). */
  maxBatch?: number;
}

/**
 * The files to classify: files as given, directories walked recursively for image extensions
 * (case-insensitive), each directory's files sorted; duplicates dropped. Paths that do not exist are kept,
 * so they come back as `not_found` items.
 */
export async function expandInputs(paths: string[]): Promise<string[]> {
  const out: string[] = [];
  const seen = new Set<string>();
  const add = (p: string): void => {
    if (!seen.has(p)) {
      seen.add(p);
      out.push(p);
    }
  };
  async function walk(dir: string): Promise<string[]> {
    const found: string[] = [];
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const p = join(dir, entry.name);
      if (entry.isDirectory()) found.push(...(await walk(p)));
      else if ((entry.isFile() || entry.isSymbolicLink()) && IMAGE_EXTENSIONS.has(extname(entry.name).toLowerCase())) found.push(p);
    }
    return found;
  }
  for (const p of paths) {
    const s = await stat(p).catch(() => null);
    if (s?.isDirectory()) (await walk(p)).sort().forEach(add);
    else add(p);
  }
  return out;
}

function asError(file: string, err: unknown): ClassifyItem {
  if (err instanceof PhotoError) return { file, error: { code: err.code, message: err.message } };
  const message = err instanceof Error ? err.message : String(err);
  return { file, error: { code: 'inference_failed', message: `${resolve(file)}: ${message}` } };
}

/** Classifies `files`, yielding one item per file in the given order. */
export async function* classifyFiles(files: string[], opts: ClassifyOptions): AsyncIterable<ClassifyItem> {
  const { engine } = opts;
  const concurrency = Math.max(1, opts.concurrency ?? availableParallelism() + 2);
  const keep = opts.keepDecoded ?? (opts.thumbnails !== undefined && opts.thumbnails.length > 0);
  const batcher = new MicroBatcher(engine, { maxBatch: opts.maxBatch ?? 16, maxWaitMs: 2, maxQueue: Number.MAX_SAFE_INTEGER });
  // How far decoding may run ahead of the consumer (bounds memory: one tensor is 600 KB).
  const window = concurrency + 2 * (opts.maxBatch ?? 16);
  const results: Array<Promise<ClassifyItem>> = [];
  let decoding = 0;
  let next = 0;
  const slotFreed: Array<() => void> = [];

  const startOne = (index: number): Promise<ClassifyItem> => {
    const file = files[index];
    decoding++;
    const decoded = decodePhoto(file, engine.model.spec, { thumbnails: opts.thumbnails }).finally(() => {
      decoding--;
      slotFreed.shift()?.();
    });
    return decoded.then(
      async (d) => {
        try {
          const prediction = await batcher.submit(d.tensor);
          return keep ? { file, decoded: d, prediction } : { file, prediction };
        } catch (err) {
          return asError(file, err);
        }
      },
      (err: unknown) => asError(file, err),
    );
  };

  let yielded = 0;
  const pump = async (): Promise<void> => {
    while (next < files.length && next - yielded < window) {
      if (decoding >= concurrency) {
        await new Promise<void>((r) => slotFreed.push(r));
        continue;
      }
      results[next] = startOne(next);
      next++;
    }
  };
  let pumping: Promise<void> = Promise.resolve();
  const kick = (): void => {
    pumping = pumping.then(pump);
  };
  kick();
  while (yielded < files.length) {
    while (results[yielded] === undefined) await pumping;
    const item = await results[yielded];
    delete results[yielded];
    yielded++;
    kick();
    yield item;
  }
  await batcher.drain();
}
