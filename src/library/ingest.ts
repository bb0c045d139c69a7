// Ingest: files -> content hash -> (skip | reuse | recognise) -> thumbnails on disk -> one transaction per photo.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { basename, resolve } from 'node:path';
import { mediaDir } from '../config/paths.js';
import type { ModelRef, PhotoAnalysis } from './analysis.js';
import type { LibraryDb } from './db.js';
import { bytesToEmbedding } from './embedding.js';
import { readExif } from './exif.js';
import { expandInputs } from '../vision/pipeline.js';
import { ensureOwner, photoState, recordFailure, storePhoto, type PhotoFacts, type Visibility } from './store.js';
import { saveThumbnail } from './thumbnails.js';
import { timelineOf } from './photos.js';
import { KEYFRAME_THUMB_SIZE } from './animation.js';

/** A photo decoded, classified and analysed by one model (what the vision + taxonomy pipeline yields). */
export interface RecognizedPhoto {
  width: number;
  height: number;
  format: string;
  orientation: number;
  /** WebP thumbnails by longest side (256 and 1024). */
  thumbnails: { size: number; webp: Buffer }[];
  analysis: PhotoAnalysis;
  /** Animations: a WebP thumbnail per keyframe of `analysis.timeline`, in order. */
  keyframeThumbnails?: Buffer[];
}

/** The recognition pipeline as ingest sees it; errors should carry a stable `code`. */
export interface PhotoRecognizer {
  readonly model: ModelRef;
  recognize(bytes: Buffer): Promise<RecognizedPhoto>;
}

export const THUMBNAIL_SIZES = [256, 1024] as const;

export interface IngestProgress {
  total: number;
  done: number;
  stored: number;
  skipped: number;
  reused: number;
  failed: number;
  file: string;
}

export interface IngestError {
  file: string;
  code: string;
  message: string;
}

export interface IngestSummary {
  owner: string;
  model: ModelRef;
  total: number;
  /** Newly classified and stored (or re-analysed with the current model). */
  stored: number;
  /** Already stored with the current model (same content for this owner), or a duplicate within the run. */
  skipped: number;
  /** Stored by copying the analysis of the same content already classified for another owner. */
  reused: number;
  failed: number;
  errors: IngestError[];
  photoIds: number[];
  seconds: number;
  /** Files handled per second. */
  rate: number;
}

export interface IngestOptions {
  owner: string;
  visibility?: Visibility;
  keepGps?: boolean;
  recognizer: PhotoRecognizer;
  db: LibraryDb;
  env?: NodeJS.ProcessEnv;
  /** Files in flight at once (default: 4 x cores, so decode, thumbnails and inference overlap). */
  concurrency?: number;
  /** Copy the analysis of identical content already classified for another owner (default true). */
  reuse?: boolean;
  onProgress?: (p: IngestProgress) => void;
}

function errorCode(err: unknown): string {
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'string' && /^[a-z_]+$/.test(code) ? code : 'ingest_failed';
}

// The complete analysis and facts of identical content already stored for any owner with this model.
async function findReusable(db: LibraryDb, contentHash: string, model: ModelRef) {
  const row = await db
    .selectFrom('photos as p')
    .innerJoin('analyses as a', 'a.photo_id', 'p.id')
    .selectAll('a')
    .select(['p.width', 'p.height', 'p.format', 'p.orientation', 'p.thumb_small', 'p.thumb_large'])
    .where('p.content_hash', '=', contentHash)
    .where('a.model_id', '=', model.id)
    .where('a.model_sha256', '=', model.sha256)
    .orderBy('p.id')
    .limit(1)
    .executeTakeFirst();
  if (!row) return undefined;
  const nodes = await db.selectFrom('node_scores').select(['wnid', 'score']).where('photo_id', '=', row.photo_id).orderBy('score', 'desc').execute();
  const analysis: PhotoAnalysis = {
    model: { id: row.model_id, sha256: row.model_sha256 },
    labels: JSON.parse(row.labels),
    hedged:
      row.hedged_wnid === null
        ? null
        : { wnid: row.hedged_wnid, name: row.hedged_name ?? row.hedged_wnid, score: row.hedged_score ?? 0, target: row.hedged_target ?? 0 },
    nodeScores: nodes,
    categories: JSON.parse(row.categories),
    embedding: bytesToEmbedding(row.embedding),
    timeline: await timelineOf(db, row.photo_id),
  };
  return { analysis, row };
}

/**
 * Writes an animation's keyframe thumbnails (content-addressed, `<sha256>-f<frame>-160.webp`) before its rows
 * are stored, and records their names in its timeline.
 */
export async function saveKeyframeThumbnails(media: string, contentHash: string, seen: RecognizedPhoto): Promise<void> {
  const timeline = seen.analysis.timeline;
  if (!timeline || !seen.keyframeThumbnails) return;
  const names = await Promise.all(
    seen.keyframeThumbnails.map((webp, i) => saveThumbnail(media, `${contentHash}-f${timeline.keyframes[i]!.frame}`, KEYFRAME_THUMB_SIZE, webp)),
  );
  seen.analysis.timeline = { ...timeline, keyframes: timeline.keyframes.map((k, i) => ({ ...k, thumb: names[i] ?? null })) };
}

/**
 * Ingests photos for an owner. Each photo's rows are written in one transaction after its thumbnails are
 * on disk, so an interrupted run (even `kill -9`) leaves only complete photos, and re-running skips them.
 * Bad files are recorded as failures with the reason and never stop the run.
 */
export async function ingestFiles(inputs: string[], opts: IngestOptions): Promise<IngestSummary> {
  const started = performance.now();
  const { db, recognizer } = opts;
  const model = recognizer.model;
  const visibility = opts.visibility ?? 'private';
  const keepGps = opts.keepGps ?? false;
  const reuse = opts.reuse ?? true;
  const media = mediaDir(opts.env);
  const ownerId = await ensureOwner(db, opts.owner);
  // Absolute paths: reindex reads the originals again later, from any working directory.
  const files = (await expandInputs(inputs)).map((f) => resolve(f));
  const concurrency = Math.max(1, opts.concurrency ?? availableParallelism() * 4);
  const summary: IngestSummary = {
    owner: opts.owner.trim(),
    model,
    total: files.length,
    stored: 0,
    skipped: 0,
    reused: 0,
    failed: 0,
    errors: [],
    photoIds: [],
    seconds: 0,
    rate: 0,
  };
  const inRun = new Set<string>();
  let done = 0;

  const one = async (file: string): Promise<void> => {
    let bytes: Buffer;
    try {
      bytes = await readFile(file);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'not_found' : 'read_failed';
      throw Object.assign(new Error(`${file}: ${(err as Error).message}`), { code });
    }
    if (bytes.length === 0) throw Object.assign(new Error(`${file}: empty file`), { code: 'empty_file' });
    const hash = createHash('sha256').update(bytes).digest('hex');
    if (inRun.has(hash)) {
      summary.skipped++;
      return;
    }
    inRun.add(hash);
    const state = await photoState(db, ownerId, hash);
    if (state && state.modelId === model.id) {
      summary.skipped++;
      summary.photoIds.push(state.photoId);
      return;
    }
    const exif = await readExif(bytes, keepGps);
    const base = {
      content_hash: hash,
      original_path: file,
      file_name: basename(file),
      size: bytes.length,
      taken_at: exif.takenAt,
      camera: exif.camera,
      gps_lat: exif.gps?.lat ?? null,
      gps_lon: exif.gps?.lon ?? null,
    };
    const reusable = reuse ? await findReusable(db, hash, model) : undefined;
    if (reusable) {
      const r = reusable.row;
      const facts: PhotoFacts = { ...base, width: r.width, height: r.height, format: r.format, orientation: r.orientation, thumb_small: r.thumb_small, thumb_large: r.thumb_large };
      summary.photoIds.push(await storePhoto(db, { ownerId, visibility, facts, analysis: reusable.analysis }));
      summary.reused++;
      return;
    }
    const seen = await recognizer.recognize(bytes);
    const thumbs = new Map<number, string>();
    for (const t of seen.thumbnails) thumbs.set(t.size, await saveThumbnail(media, hash, t.size, t.webp));
    await saveKeyframeThumbnails(media, hash, seen);
    const facts: PhotoFacts = {
      ...base,
      width: seen.width,
      height: seen.height,
      format: seen.format,
      orientation: exif.orientation ?? seen.orientation,
      thumb_small: thumbs.get(THUMBNAIL_SIZES[0]) ?? null,
      thumb_large: thumbs.get(THUMBNAIL_SIZES[1]) ?? null,
    };
    summary.photoIds.push(await storePhoto(db, { ownerId, visibility, facts, analysis: seen.analysis }));
    summary.stored++;
  };

  let next = 0;
  const worker = async () => {
    while (next < files.length) {
      const file = files[next++];
      try {
        await one(file);
      } catch (err) {
        const code = errorCode(err);
        const message = err instanceof Error ? err.message : String(err);
        summary.failed++;
        summary.errors.push({ file, code, message });
        try {
          await recordFailure(db, ownerId, file, code, message);
        } catch {
          // the failure list is best effort; the error is in the summary anyway
        }
      }
      done++;
      opts.onProgress?.({ total: files.length, done, stored: summary.stored, skipped: summary.skipped, reused: summary.reused, failed: summary.failed, file });
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, Math.max(1, files.length)) }, worker));
  summary.seconds = (performance.now() - started) / 1000;
  summary.rate = summary.seconds > 0 ? files.length / summary.seconds : 0;
  summary.errors.sort((a, b) => (a.file < b.file ? -1 : 1));
  summary.photoIds.sort((a, b) => a - b);
  return summary;
}
