// Ingest: files -> content hash -> (skip | reuse | recognise) -> staged thumbnails -> the photo's rows committed
// (with the other photos ready at the same moment: group commit, a savepoint each) -> thumbnails (and an upload's
// original) renamed into place. Nothing reaches its final name uncommitted. Reading and decoding (cores + 2 at
// once) overlap inference and the database write of the photos after them.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { basename, resolve } from 'node:path';
import { mediaDir } from '../config/paths.js';
import type { ModelRef, PhotoAnalysis } from './analysis.js';
import type { LibraryDb } from './db.js';
import type { Selectable } from 'kysely';
import type { LibrarySchema } from './schema.js';
import { isCustomTag } from './counts.js';
import { bytesToEmbedding } from './embedding.js';
import { NO_EXIF, readExif, type PhotoExif } from './exif.js';
import type { DetectSource, ThumbnailEncoding } from '../vision/decode.js';
import { expandInputs } from '../vision/pipeline.js';
import { ensureOwner, photoState, recordFailure, replaceAnalysis, storePhotos, type PhotoFacts, type StorePhotoInput, type Visibility } from './store.js';
import { discard, promote, stageFile, type Staged } from './media.js';
import { thumbnailName } from './thumbnails.js';
import { visibleTo, type Viewer } from './viewer.js';
import { join } from 'node:path';
import { timelineOf } from './photos.js';
import { KEYFRAME_THUMB_SIZE } from './animation.js';
import type { FaceStage } from './face-stage.js';
import { clusterNewFaces, ownerFaceSettings, writeFaceScan } from './people.js';

/** A photo decoded, classified and analysed by one model (what the vision + taxonomy pipeline yields). */
export interface RecognizedPhoto {
  width: number;
  height: number;
  format: string;
  orientation: number;
  /** Whether the decoder found an EXIF block (undefined: it cannot tell). A JPEG without one skips the EXIF reader. */
  exif?: boolean;
  /** Thumbnails by longest side (256, and 1024 when the photo is larger than that), encoded as `format`. */
  thumbnails: { size: number; format: ThumbnailEncoding['format']; data: Buffer }[];
  analysis: PhotoAnalysis;
  /** Animations: a WebP thumbnail per keyframe of `analysis.timeline`, in order. */
  keyframeThumbnails?: Buffer[];
  /** With `forFaces`: the face detectors' input from the same decode (at most `side` px). */
  detectImage?: DetectSource;
}

/** The recognition pipeline as ingest sees it; errors should carry a stable `code`. */
export interface PhotoRecognizer {
  readonly model: ModelRef;
  /**
   * `forFaces`: keep what the face stage needs from the decode (`detectImage`), where the recognizer can.
   * `onDecoded`: called once the photo's pixels are decoded (tensor and thumbnails made), before inference, where
   * the recognizer can tell; ingest then starts decoding its next photo while this one waits for a batch.
   */
  recognize(bytes: Buffer, opts?: { forFaces?: boolean; onDecoded?: () => void }): Promise<RecognizedPhoto>;
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
  /** Faces stored in this run and people created for them (0 when face detection was off). */
  faces: number;
  people: number;
}

export interface IngestOptions {
  owner: string;
  visibility?: Visibility;
  keepGps?: boolean;
  recognizer: PhotoRecognizer;
  db: LibraryDb;
  env?: NodeJS.ProcessEnv;
  /**
   * Files in flight at once (default: decoders + 16). Only `decoders` of them read and decode at a time; the
   * others wait for an inference batch or for their database write, so decoding never stops for either.
   */
  concurrency?: number;
  /** Files read, hashed and decoded at once (default: cores + 2, as `classifyFiles`): the CPU-heavy stage. */
  decoders?: number;
  /**
   * Copy the analysis of identical content already classified for another owner: `true` (default) from any
   * owner's photo, a Viewer to reuse only photos that viewer may already see (uploads: so that neither the
   * answer's timing nor its result reveals what others hold privately), `false` never.
   */
  reuse?: boolean | Viewer;
  onProgress?: (p: IngestProgress) => void;
  /** Face detection (skipped for owners who turned it off); new faces are clustered into people at the end. */
  faces?: FaceStage;
  /**
   * Read the originals and write the thumbnails with blocking calls: the event loop waits for each file, but the
   * main thread is spared the asynchronous calls' bookkeeping (~0.7 ms a photo, of ~8 ms of main-thread work on
   * small photos). For batch ingest (`pictograph ingest`, the job worker); never for a server answering requests.
   */
  blockingFileIo?: boolean;
}

/**
 * An uploaded file to ingest: its bytes are at `file` (a staged temporary file), and once its photo is
 * committed it is renamed to `original`, the path the photo records (`name`: the file name shown).
 */
export interface IngestUpload {
  file: string;
  original: string;
  name: string;
}

function errorCode(err: unknown): string {
  const code = (err as { code?: unknown })?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') return 'storage_full';
  return typeof code === 'string' && /^[a-z_]+$/.test(code) ? code : 'ingest_failed';
}

// The complete analysis and facts of identical content already stored with this model (by any owner, or only
// among the photos `viewer` may see).
async function findReusable(db: LibraryDb, contentHash: string, model: ModelRef, viewer?: Viewer) {
  let q = db
    .selectFrom('photos as p')
    .innerJoin('analyses as a', 'a.photo_id', 'p.id')
    .selectAll('a')
    .select(['p.width', 'p.height', 'p.format', 'p.orientation', 'p.thumb_small', 'p.thumb_large'])
    .where('p.content_hash', '=', contentHash)
    .where('a.model_id', '=', model.id)
    .where('a.model_sha256', '=', model.sha256);
  if (viewer) q = q.where(visibleTo(viewer, 'p'));
  const row = await q.orderBy('p.id').limit(1).executeTakeFirst();
  if (!row) return undefined;
  // Everyday tags only: another owner's custom concepts ("OWNER/NAME") stay theirs.
  return { analysis: await analysisFromRow(db, row, { customTags: false }), row };
}

/** The photo row's EXIF columns. */
function exifFacts(exif: PhotoExif): Pick<PhotoFacts, 'taken_at' | 'camera' | 'gps_lat' | 'gps_lon'> {
  return { taken_at: exif.takenAt, camera: exif.camera, gps_lat: exif.gps?.lat ?? null, gps_lon: exif.gps?.lon ?? null };
}

/** A stored photo's analysis as it was written (custom tags included: the photo's owner is asking). */
export async function storedAnalysis(db: LibraryDb, photoId: number): Promise<PhotoAnalysis | undefined> {
  const row = await db.selectFrom('analyses').selectAll().where('photo_id', '=', photoId).executeTakeFirst();
  return row ? analysisFromRow(db, row, { customTags: true }) : undefined;
}

async function analysisFromRow(db: LibraryDb, row: Selectable<LibrarySchema['analyses']>, opts: { customTags: boolean }): Promise<PhotoAnalysis> {
  const nodes = await db.selectFrom('node_scores').select(['wnid', 'score']).where('photo_id', '=', row.photo_id).orderBy('score', 'desc').execute();
  return {
    model: { id: row.model_id, sha256: row.model_sha256 },
    labels: JSON.parse(row.labels),
    hedged:
      row.hedged_wnid === null
        ? null
        : { wnid: row.hedged_wnid, name: row.hedged_name ?? row.hedged_wnid, score: row.hedged_score ?? 0, target: row.hedged_target ?? 0 },
    nodeScores: nodes,
    categories: JSON.parse(row.categories),
    embedding: bytesToEmbedding(row.embedding),
    tags: (await db.selectFrom('photo_tags').select(['concept_id', 'score']).where('photo_id', '=', row.photo_id).orderBy('score', 'desc').execute())
      .filter((t) => opts.customTags || !isCustomTag(t.concept_id))
      .map((t) => ({ id: t.concept_id, name: t.concept_id, score: t.score })),
    timeline: await timelineOf(db, row.photo_id),
  };
}

/**
 * Stages an animation's keyframe thumbnails (content-addressed, `<sha256>-f<frame>-160.webp`; promoted once its rows
 * are stored, see media.ts) and records their names in its timeline.
 */
export async function stageKeyframeThumbnails(media: string, contentHash: string, seen: RecognizedPhoto): Promise<Staged[]> {
  const timeline = seen.analysis.timeline;
  if (!timeline || !seen.keyframeThumbnails) return [];
  const staged: Staged[] = [];
  const names: string[] = [];
  try {
    for (const [i, webp] of seen.keyframeThumbnails.entries()) {
      const name = thumbnailName(`${contentHash}-f${timeline.keyframes[i]!.frame}`, KEYFRAME_THUMB_SIZE, 'webp');
      staged.push(await stageFile(join(media, name), webp));
      names.push(name);
    }
  } catch (err) {
    await Promise.all(staged.map((s) => discard(s)));
    throw err;
  }
  seen.analysis.timeline = { ...timeline, keyframes: timeline.keyframes.map((k, i) => ({ ...k, thumb: names[i] ?? null })) };
  return staged;
}

/**
 * Group commit: a photo ready to store waits (at most GROUP_WAIT_MS) for the other photos of the run still on their
 * way, and they are stored together (`storePhotos`: one SQLite transaction, a savepoint each). A photo with no
 * company coming (a single upload, the end of a run) is stored at once. Each caller learns its own photo's fate.
 */
class PhotoWriter {
  private readonly queue: Array<{ input: StorePhotoInput; resolve: (id: number) => void; reject: (e: unknown) => void }> = [];
  private writing = false;
  private timer: NodeJS.Timeout | null = null;
  constructor(
    private readonly db: LibraryDb,
    /** Photos of the run in progress, those waiting here included. */
    private readonly active: () => number,
  ) {}

  store(input: StorePhotoInput): Promise<number> {
    return new Promise((resolve, reject) => {
      this.queue.push({ input, resolve, reject });
      this.schedule();
    });
  }

  /** Call when a photo of the run is done without storing (skipped, failed): others may now wait for nobody. */
  schedule(): void {
    if (this.writing || this.queue.length === 0) return;
    if (this.queue.length >= GROUP_MAX || this.queue.length >= this.active()) void this.drain();
    else this.timer ??= setTimeout(() => void this.drain(), GROUP_WAIT_MS);
  }

  private async drain(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.writing) return;
    this.writing = true;
    const group = this.queue.splice(0, GROUP_MAX);
    try {
      const results = await storePhotos(this.db, group.map((g) => g.input));
      results.forEach((r, i) => (r.status === 'fulfilled' ? group[i]!.resolve(r.value) : group[i]!.reject(r.reason)));
    } catch (err) {
      group.forEach((g) => g.reject(err));
    }
    this.writing = false;
    this.schedule();
  }
}

/** Most photos per group commit, and the longest a ready photo waits for company (bulk ingest runs ~50 photos/s). */
const GROUP_MAX = 32;
const GROUP_WAIT_MS = 100;

/** A counting semaphore: `acquire` resolves (first come, first served) to a release function, safe to call twice. */
class Slots {
  private readonly waiting: Array<() => void> = [];
  constructor(private free: number) {}

  async acquire(): Promise<() => void> {
    if (this.free > 0) this.free--;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      const next = this.waiting.shift();
      if (next) next();
      else this.free++;
    };
  }
}

/**
 * Ingests photos for an owner. Each photo's rows are written in one transaction after its thumbnails are
 * on disk, so an interrupted run (even `kill -9`) leaves only complete photos, and re-running skips them.
 * Bad files are recorded as failures with the reason and never stop the run.
 */
export async function ingestFiles(inputs: Array<string | IngestUpload>, opts: IngestOptions): Promise<IngestSummary> {
  const started = performance.now();
  const { db, recognizer } = opts;
  const model = recognizer.model;
  const visibility = opts.visibility ?? 'private';
  const keepGps = opts.keepGps ?? false;
  const blocking = opts.blockingFileIo ?? false;
  const reuse = opts.reuse ?? true;
  const media = mediaDir(opts.env);
  const ownerId = await ensureOwner(db, opts.owner);
  const faces = opts.faces && (await ownerFaceSettings(db, ownerId)).enabled ? opts.faces : undefined;
  // Absolute paths: reindex reads the originals again later, from any working directory.
  const paths = inputs.filter((i): i is string => typeof i === 'string');
  const uploads = inputs.filter((i): i is IngestUpload => typeof i !== 'string');
  const files: Array<string | IngestUpload> = [...(await expandInputs(paths)).map((f) => resolve(f)), ...uploads];
  // Two stages, so that both cores stay busy: a photo holds a decoder slot from reading its file until its pixels
  // are decoded, then gives it up while it waits for inference and its transaction. With one slot per photo in
  // flight (as before), the photos moved in lock step: all decoding, then all waiting for inference (batches of
  // 1-2), then all waiting for SQLite on the main thread; the cores idled ~40% of the time.
  const decoders = Math.max(1, opts.decoders ?? availableParallelism() + 2);
  const concurrency = Math.max(decoders, opts.concurrency ?? decoders + 16);
  const decodeSlots = new Slots(decoders);
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
    faces: 0,
    people: 0,
  };
  let active = 0;
  const writer = new PhotoWriter(db, () => active);
  const inRun = new Set<string>();
  let done = 0;

  const one = async (input: string | IngestUpload, decodeDone: () => void): Promise<void> => {
    const file = typeof input === 'string' ? input : input.original;
    const upload = typeof input === 'string' ? undefined : input;
    let bytes: Buffer;
    try {
      bytes = blocking ? readFileSync(upload ? upload.file : file) : await readFile(upload ? upload.file : file);
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
    const base = {
      content_hash: hash,
      original_path: file,
      file_name: upload ? upload.name : basename(file),
      size: bytes.length,
    };
    const reusable = reuse === false ? undefined : await findReusable(db, hash, model, reuse === true ? undefined : reuse);
    const original: Staged | undefined = upload ? { tmp: upload.file, target: upload.original } : undefined;
    // Detection runs on its own worker while the photo is classified; faces belong to this owner, so they are
    // detected again even when the analysis is reused. A photo whose detection fails is stored without a face
    // scan rather than not at all.
    if (reusable) decodeDone(); // nothing to decode: the next photo may start
    const recognized = reusable ? undefined : recognizer.recognize(bytes, { forFaces: faces !== undefined, onDecoded: decodeDone });
    // A recognizer that cannot tell when its decode is done frees the slot when it is done altogether.
    recognized?.then(decodeDone, decodeDone);
    const analysis = reusable ? Promise.resolve(reusable.analysis) : recognized!.then((r) => r.analysis, () => undefined);
    const decoded = recognized?.then((r) => r.detectImage, () => undefined);
    const detection = faces?.detect(bytes, analysis, { decoded }).catch(() => undefined);
    if (reusable) {
      const r = reusable.row;
      const facts: PhotoFacts = { ...base, ...exifFacts(await readExif(bytes, keepGps)), width: r.width, height: r.height, format: r.format, orientation: r.orientation, thumb_small: r.thumb_small, thumb_large: r.thumb_large };
      const found = await detection;
      const withFaces = faces && found ? faces.apply(reusable.analysis, found) : undefined;
      summary.photoIds.push(await writer.store({ ownerId, visibility, facts, analysis: withFaces?.analysis ?? reusable.analysis, faces: withFaces?.scan }));
      summary.faces += withFaces?.scan.evidence.faces.length ?? 0;
      if (original) await promote(original);
      summary.reused++;
      return;
    }
    const seen = await recognized!;
    // A JPEG whose decoder saw no EXIF block has none to read (most web and ImageNet photos: ~0.2 ms of main thread
    // each). Other formats keep EXIF where libvips does not look (PNG text chunks), so they are always read.
    const exif = seen.format === 'jpeg' && seen.exif === false ? NO_EXIF : await readExif(bytes, keepGps);
    // Thumbnails are staged, the photo committed, and only then are they (and an upload's original) put in
    // place: a crash or failure in between leaves temporary files that the next start resolves.
    const found = await detection;
    const withFaces = faces && found ? faces.apply(seen.analysis, found) : undefined;
    const thumbs = new Map<number, string>();
    const staged: Staged[] = [];
    try {
      for (const t of seen.thumbnails) {
        const name = thumbnailName(hash, t.size, t.format);
        staged.push(await stageFile(join(media, name), t.data, { blocking }));
        thumbs.set(t.size, name);
      }
      staged.push(...(await stageKeyframeThumbnails(media, hash, seen)));
    } catch (err) {
      await Promise.all(staged.map((s) => discard(s)));
      throw err;
    }
    const facts: PhotoFacts = {
      ...base,
      ...exifFacts(exif),
      width: seen.width,
      height: seen.height,
      format: seen.format,
      orientation: exif.orientation ?? seen.orientation,
      thumb_small: thumbs.get(THUMBNAIL_SIZES[0]) ?? null,
      thumb_large: thumbs.get(THUMBNAIL_SIZES[1]) ?? null,
    };
    let photoId: number;
    try {
      photoId = await writer.store({ ownerId, visibility, facts, analysis: withFaces?.analysis ?? seen.analysis, faces: withFaces?.scan });
    } catch (err) {
      await Promise.all(staged.map((s) => discard(s)));
      throw err;
    }
    for (const s of staged) await promote(s, { blocking });
    if (original) await promote(original);
    summary.photoIds.push(photoId);
    summary.faces += withFaces?.scan.evidence.faces.length ?? 0;
    summary.stored++;
  };

  let next = 0;
  const worker = async () => {
    while (next < files.length) {
      const input = files[next++]!;
      const file = typeof input === 'string' ? input : input.original;
      const release = await decodeSlots.acquire();
      active++;
      try {
        await one(input, release);
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
      } finally {
        release();
        active--;
        writer.schedule();
      }
      done++;
      opts.onProgress?.({ total: files.length, done, stored: summary.stored, skipped: summary.skipped, reused: summary.reused, failed: summary.failed, file });
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, Math.max(1, files.length)) }, worker));
  if (faces) summary.people = (await clusterNewFaces(db, ownerId)).created;
  summary.seconds = (performance.now() - started) / 1000;
  summary.rate = summary.seconds > 0 ? files.length / summary.seconds : 0;
  summary.errors.sort((a, b) => (a.file < b.file ? -1 : 1));
  summary.photoIds.sort((a, b) => a - b);
  return summary;
}

export interface RescanSummary {
  /** Photos detected again. */
  scanned: number;
  faces: number;
  /** People created by clustering the new faces. */
  people: number;
  failed: Array<{ photoId: number; file: string; error: { code: string; message: string } }>;
}

/**
 * Face detection for an owner's stored photos that have no face scan yet (faces turned on after they were stored,
 * or stored by a server without faces), or for all of them with `all`. Each photo's original is read again and its
 * stored analysis reused (no classification); the analysis with people lifted in and the scan are written in one
 * transaction, so a kill leaves each photo scanned or not, never half. A missing original is reported, not fatal.
 */
export async function rescanFaces(
  db: LibraryDb,
  ownerId: number,
  faces: FaceStage,
  opts: { all?: boolean; onPhoto?: (done: number) => void } = {},
): Promise<RescanSummary> {
  if (!(await ownerFaceSettings(db, ownerId)).enabled) {
    throw Object.assign(new Error('face detection is off for this owner (turn it on with `people settings --faces on`)'), { code: 'faces_off' });
  }
  const summary: RescanSummary = { scanned: 0, faces: 0, people: 0, failed: [] };
  for (let after = 0; ; ) {
    let q = db.selectFrom('photos as p').select(['p.id', 'p.original_path']).where('p.owner_id', '=', ownerId).where('p.id', '>', after);
    if (!opts.all) q = q.where(({ not, exists, selectFrom }) => not(exists(selectFrom('face_scans as s').select('s.photo_id').whereRef('s.photo_id', '=', 'p.id'))));
    const rows = await q.orderBy('p.id').limit(200).execute();
    for (const r of rows) {
      try {
        const bytes = await readFile(r.original_path).catch((err: NodeJS.ErrnoException) => {
          throw Object.assign(new Error(`the original ${r.original_path} cannot be read (${err.code ?? err.message})`), { code: 'original_missing' });
        });
        const analysis = await storedAnalysis(db, r.id);
        if (!analysis) throw Object.assign(new Error(`photo ${r.id} has no stored analysis`), { code: 'not_analysed' });
        const found = faces.apply(analysis, await faces.detect(bytes, Promise.resolve(analysis), { everyPhoto: opts.all }));
        await replaceAnalysis(db, r.id, found.analysis, (tx, photo) => writeFaceScan(tx, photo.id, photo.owner_id, found.scan));
        summary.scanned++;
        summary.faces += found.scan.evidence.faces.length;
      } catch (err) {
        const e = err as { code?: string; message?: string };
        summary.failed.push({ photoId: r.id, file: r.original_path, error: { code: e.code ?? 'failed', message: e.message ?? String(err) } });
      }
      opts.onPhoto?.(summary.scanned + summary.failed.length);
    }
    if (rows.length < 200) break;
    after = rows[rows.length - 1]!.id;
  }
  summary.people = (await clusterNewFaces(db, ownerId)).created;
  return summary;
}
