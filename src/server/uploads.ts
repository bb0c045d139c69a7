// Receiving uploaded photos: each multipart `file` is written content-addressed under the media folder
// (tmp file + atomic rename, so a crash leaves no partial original), then handed to the library's ingest,
// which stores each photo with its complete analysis in one transaction.
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import type { FastifyRequest } from 'fastify';
import type { ServerContext } from './app.js';
import { ingestFiles } from '../library/ingest.js';
import { photoDetail } from '../library/photos.js';
import { setVisibility } from '../library/store.js';
import { ownerViewer } from '../library/viewer.js';
import { ApiError, badRequest, scrubPaths, toApiError } from './errors.js';
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
): Promise<UploadResult[]> {
  const recognizer = ctx.runtime.recognizer();
  const viewer = ownerViewer(owner.id);
  return Promise.all(
    received.files.map(async (f): Promise<UploadResult> => {
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
        const apiErr = toApiError(Object.assign(new Error(failed.message), { name: 'PhotoError', code: failed.code }));
        return { file: f.file, error: { code: failed.code, message: messageFor(failed.code, apiErr.message, f) } };
      }
      const id = summary.photoIds[0];
      if (id === undefined) return { file: f.file, error: { code: 'ingest_failed', message: 'The photo could not be stored.' } };
      if (received.visibilityGiven && summary.stored === 0) await setVisibility(ctx.db, id, received.visibility);
      const photo = await photoDetail(ctx.db, viewer, id, { nodes: 0 });
      return { file: f.file, photo: photoSummary(photo) };
    }),
  );
}

/** An ingest error message without the server's path of the file. */
function messageFor(code: string, message: string, f: ReceivedUpload): string {
  let m = message;
  if (f.path) m = m.split(f.path).join(f.file);
  m = scrubPaths(m);
  return m.trim() === '' ? code : m;
}
