// Reindex: re-classifies only photos whose stored analysis came from another model, replacing it atomically.
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import type { PhotoAnalysis } from './analysis.js';
import type { LibraryDb } from './db.js';
import { stageKeyframeThumbnails, type IngestError, type PhotoRecognizer } from './ingest.js';
import { promote } from './media.js';
import { mediaDir } from '../config/paths.js';
import { replaceAnalysis } from './store.js';

export interface ReindexSummary {
  model: { id: string; sha256: string };
  /** Photos whose analysis came from another model when the run started. */
  total: number;
  replaced: number;
  failed: number;
  errors: IngestError[];
  seconds: number;
}

/**
 * Re-analyses every photo whose analysis is not from `recognizer.model` (id and checksum). Until a photo's
 * new analysis commits, its old one stays readable; the swap is one transaction per photo. Photos whose
 * original file is gone keep their old analysis and are listed as failed.
 */
export async function reindexPhotos(
  db: LibraryDb,
  opts: {
    recognizer: PhotoRecognizer;
    concurrency?: number;
    onProgress?: (p: { total: number; done: number; failed: number }) => void;
    /** Where animations' keyframe thumbnails go (the media dir of this env). */
    env?: NodeJS.ProcessEnv;
  },
): Promise<ReindexSummary> {
  const started = performance.now();
  const model = opts.recognizer.model;
  const stale = await db
    .selectFrom('photos as p')
    .innerJoin('analyses as a', 'a.photo_id', 'p.id')
    .select(['p.id', 'p.original_path', 'p.content_hash'])
    .where((eb) => eb.or([eb('a.model_id', '<>', model.id), eb('a.model_sha256', '<>', model.sha256)]))
    .orderBy('p.id')
    .execute();
  const summary: ReindexSummary = { model, total: stale.length, replaced: 0, failed: 0, errors: [], seconds: 0 };
  const byHash = new Map<string, Promise<PhotoAnalysis>>();
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < stale.length) {
      const photo = stale[next++];
      try {
        let pending = byHash.get(photo.content_hash);
        if (!pending) {
          pending = readFile(photo.original_path).then(async (bytes) => {
            const seen = await opts.recognizer.recognize(bytes);
            // Content-addressed keyframe files; if the analysis is never stored they are orphans `doctor` removes.
            for (const staged of await stageKeyframeThumbnails(mediaDir(opts.env), photo.content_hash, seen)) await promote(staged);
            return seen.analysis;
          });
          byHash.set(photo.content_hash, pending);
        }
        await replaceAnalysis(db, photo.id, await pending);
        summary.replaced++;
      } catch (err) {
        summary.failed++;
        const code = typeof (err as { code?: unknown }).code === 'string' ? String((err as { code: string }).code) : 'reindex_failed';
        summary.errors.push({ file: photo.original_path, code: code === 'ENOENT' ? 'not_found' : code, message: err instanceof Error ? err.message : String(err) });
      }
      done++;
      opts.onProgress?.({ total: stale.length, done, failed: summary.failed });
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, opts.concurrency ?? availableParallelism() * 2) }, worker));
  summary.seconds = (performance.now() - started) / 1000;
  return summary;
}
