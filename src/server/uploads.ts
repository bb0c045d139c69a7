// Receiving uploaded photos: each multipart `file` is written content-addressed under the media folder
// (tmp file + atomic rename, so a crash leaves no partial original), then handed to the library's ingest,
// which stores each photo with its complete analysis in one transaction.
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import type { JobQueue } from '../jobs/queue.js';
import { DEFAULT_MODEL_ID } from '../vision/manifest.js';
import type { FastifyBaseLogger, FastifyRequest } from 'fastify';
import type { ServerContext } from './app.js';
import { ingestFiles } from '../library/ingest.js';
import { photoDetail } from '../library/photos.js';
import { setVisibility } from '../library/store.js';
import { ownerViewer } from '../library/viewer.js';
import { ApiError, badRequest, scrubPaths } from './errors.js';
import { photoSummary, type ApiPhotoSummary } from './presenters.js';

export interface ReceivedUpload {
  /** The client's file name (as sent; for the response only). */
  file: string;
  /** Where the bytes now live on the server (never sent to clients). */
  path?: string;
  error?: { code: string; message: string };
}

export interface ReceivedUploads {
  visibility: 'private' | 'public';
  /** Whether the request named a visibility (otherwise an already stored photo keeps its own). */
  visibilityGiven: boolean;
  files: ReceivedUpload[];
}

/** Folder of uploaded originals, one sub-folder per content hash. */
export function originalsDir(ctx: ServerContext): string {
  return join(ctx.mediaDir, 'originals');
}

/** Reads every part of an upload request; files go to disk as they arrive. */
export async function receiveUploads(ctx: ServerContext, req: FastifyRequest): Promise<ReceivedUploads> {
  let visibility: 'private' | 'public' = 'private';
  let visibilityGiven = false;
  const files: ReceivedUpload[] = [];
  for await (const part of req.parts()) {
    if (part.type === 'field') {
      if (part.fieldname === 'visibility') {
        const v = String(part.value).trim();
        if (v !== 'private' && v !== 'public') throw badRequest('`visibility` must be `private` or `public`.');
        visibility = v;
        visibilityGiven = true;
      }
      continue;
    }
    if (part.fieldname !== 'file') {
      await part.toBuffer();
      continue;
    }
    const name = part.filename || 'upload';
    const data = await part.toBuffer();
    if (data.length === 0) {
      files.push({ file: name, error: { code: 'empty_file', message: 'The file is empty.' } });
      continue;
    }
    files.push({ file: name, path: await storeOriginal(ctx, name, data) });
  }
  if (files.length === 0) throw new ApiError(400, 'empty_body', 'The upload has no `file` field.');
  return { visibility, visibilityGiven, files };
}

/** Writes an original under `originals/<sha256>/<name>` (once per content) and returns its path. */
export async function storeOriginal(ctx: ServerContext, clientName: string, data: Buffer): Promise<string> {
  const hash = createHash('sha256').update(data).digest('hex');
  const dir = join(originalsDir(ctx), hash.slice(0, 2), hash);
  const existing = await readdir(dir).catch(() => [] as string[]);
  const kept = existing.find((f) => !f.startsWith('.tmp-'));
  if (kept) return join(dir, kept);
  await mkdir(dir, { recursive: true });
  const file = join(dir, safeFileName(clientName));
  const tmp = join(dir, `.tmp-${randomBytes(6).toString('hex')}`);
  try {
    await writeFile(tmp, data, { flush: true });
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  return file;
}

/** A file name safe to keep on disk: the base name, tame characters only, a short image extension kept. */
export function safeFileName(name: string): string {
  const base = basename(name.replace(/\\/g, '/'));
  const ext = extname(base).toLowerCase().replace(/[^a-z0-9.]/g, '').slice(0, 6);
  const stem = base.slice(0, base.length - extname(base).length).replace(/[^\w.-]+/g, '_').replace(/^[._]+/, '').slice(0, 80);
  return `${stem || 'upload'}${ext || '.img'}`;
}

export interface UploadResult {
  file: string;
  photo?: ApiPhotoSummary;
  error?: { code: string; message: string };
}

/**
 * Ingests received uploads for `owner` through the library's ingest (one transaction per photo), each file
 * separately so every result names its own photo or error; files run concurrently and share the batcher.
 */
export async function ingestUploads(
  ctx: ServerContext,
  owner: { id: number; name: string },
  received: ReceivedUploads,
  log?: FastifyBaseLogger,
): Promise<UploadResult[]> {
  const recognizer = ctx.modelServers ?? ctx.runtime.recognizer();
  const viewer = ownerViewer(owner.id);
  return mapPool(received.files, UPLOAD_CONCURRENCY, async (f): Promise<UploadResult> => {
    if (!f.path) return { file: f.file, error: f.error ?? { code: 'upload_failed', message: 'The file was not received.' } };
    const summary = await ingestFiles([f.path], {
      owner: owner.name,
      visibility: received.visibility,
      recognizer,
      db: ctx.db,
      env: ctx.env,
      concurrency: 1,
    });
    const failed = summary.errors[0];
    if (failed) {
      if (!SHOWN_CODES.has(failed.code)) log?.warn({ code: failed.code, reason: failed.message }, 'upload not ingested');
      return { file: f.file, error: uploadError(failed.code, failed.message, f) };
    }
    const id = summary.photoIds[0];
    if (id === undefined) return { file: f.file, error: { code: 'ingest_failed', message: 'The photo could not be stored.' } };
    if (received.visibilityGiven && summary.stored === 0) await setVisibility(ctx.db, id, received.visibility);
    const photo = await photoDetail(ctx.db, viewer, id, { nodes: 0 });
    return { file: f.file, photo: photoSummary(photo) };
  });
}

/** Per-file reasons shown to the uploader (decoding problems and a busy queue); anything else stays generic. */
const SHOWN_CODES = new Set(['empty_file', 'too_large', 'too_many_pixels', 'unsupported_format', 'truncated', 'decode_failed', 'queue_full']);

/** An ingest failure as the uploader sees it: a stable code, and a message without the server's paths. */
function uploadError(code: string, message: string, f: ReceivedUpload): { code: string; message: string } {
  if (!SHOWN_CODES.has(code)) return { code: 'ingest_failed', message: 'The photo could not be stored; the server logged why.' };
  if (code === 'queue_full') return { code, message: 'The classifier is busy; upload this file again shortly.' };
  const m = scrubPaths(f.path ? message.split(f.path).join(f.file) : message);
  return { code, message: m.trim() === '' ? code : m };
}

/** Files of one upload request in flight at once (decode overlaps inference; many uploads share the queue). */
const UPLOAD_CONCURRENCY = 4;

/** `fn` over `items` with at most `limit` running at once; results in input order. */
async function mapPool<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

export interface QueuedUpload {
  file: string;
  /** The ingest job (its id is the same for the same owner, content and model: uploading twice adds nothing). */
  job?: { id: string; created: boolean };
  error?: { code: string; message: string };
}

/** With a queue: each received original becomes an ingest job for the workers (they read the shared media folder). */
export async function enqueueUploads(ctx: ServerContext, queue: JobQueue, owner: { name: string }, received: ReceivedUploads): Promise<QueuedUpload[]> {
  const model = ctx.modelServers?.model.id ?? ctx.runtime.defaultModelId() ?? DEFAULT_MODEL_ID;
  const out: QueuedUpload[] = [];
  for (const f of received.files) {
    if (!f.path) {
      out.push({ file: f.file, error: f.error ?? { code: 'upload_failed', message: 'The file was not received.' } });
      continue;
    }
    // storeOriginal keeps each original under originals/<2>/<sha256>/.
    const hash = basename(dirname(f.path));
    out.push({ file: f.file, job: await queue.submitIngest({ owner: owner.name, path: f.path, hash, visibility: received.visibility, model }) });
  }
  return out;
}
