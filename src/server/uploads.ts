// Receiving uploaded photos: each multipart `file` streams to a temporary file under `media/tmp/` (hashed on
// the way, never held in memory), is renamed to a staged name beside its final place under
// `media/originals/<ab>/<sha256>/`, and becomes the original only once ingest has committed its photo. Every
// other outcome (bad file, a limit hit, client gone, disk full) removes the request's temporary files.
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, type FileHandle } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import { Readable, Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { MultipartFile } from '@fastify/multipart';
import type { JobQueue } from '../jobs/queue.js';
import { DEFAULT_MODEL_ID } from '../vision/manifest.js';
import type { FastifyBaseLogger, FastifyRequest } from 'fastify';
import type { ServerContext } from './app.js';
import { ingestFiles, type IngestUpload } from '../library/ingest.js';
import { discard, parseTemporary, stagedPath } from '../library/media.js';
import { faceStage } from '../library/face-stage.js';
import { ownerFaceSettings } from '../library/people.js';
import { photoDetail } from '../library/photos.js';
import { setVisibility } from '../library/store.js';
import { ownerViewer } from '../library/viewer.js';
import { ApiError, badRequest, multipartError, scrubPaths } from './errors.js';
import { photoSummary, type ApiPhotoSummary } from './presenters.js';

export interface ReceivedUpload {
  /** The client's file name (as sent; for the response only). */
  file: string;
  /** The received bytes, staged for ingest (never sent to clients). */
  staged?: IngestUpload;
  error?: { code: string; message: string };
}

export interface ReceivedUploads {
  visibility: 'private' | 'public';
  /** Whether the request named a visibility (otherwise an already stored photo keeps its own). */
  visibilityGiven: boolean;
  files: ReceivedUpload[];
  /** Every temporary file this request created (removed by `discardUploads`; promoted ones are gone already). */
  temporary: string[];
}

/** Folder of uploaded originals, one sub-folder per content hash. */
export function originalsDir(ctx: ServerContext): string {
  return join(ctx.mediaDir, 'originals');
}

/**
 * Reads every part of an upload request; files stream to temporary files as they arrive. On any error the
 * temporary files are removed and the error is thrown (malformed multipart -> 400 `bad_multipart`).
 */
export async function receiveUploads(ctx: ServerContext, req: FastifyRequest): Promise<ReceivedUploads> {
  const received: ReceivedUploads = { visibility: 'private', visibilityGiven: false, files: [], temporary: [] };
  try {
    for await (const part of req.parts()) {
      if (part.type === 'field') {
        if (part.fieldname === 'visibility') {
          const v = String(part.value).trim();
          if (v !== 'private' && v !== 'public') throw badRequest('`visibility` must be `private` or `public`.');
          received.visibility = v;
          received.visibilityGiven = true;
        }
        continue;
      }
      if (part.fieldname !== 'file') {
        await pipeline(part.file, new Writable({ write: (_chunk, _enc, done) => done() }));
        continue;
      }
      const name = part.filename || 'upload';
      const staged = await receiveFile(ctx, part, name, received.temporary);
      received.files.push(staged ? { file: name, staged } : { file: name, error: { code: 'empty_file', message: 'The file is empty.' } });
    }
  } catch (err) {
    await discardUploads(received);
    throw multipartError(err);
  }
  if (received.files.length === 0) throw new ApiError(400, 'empty_body', 'The upload has no `file` field.');
  return received;
}

/** Removes every temporary file of an upload request (those promoted into the store are no longer there). */
export async function discardUploads(received: ReceivedUploads): Promise<void> {
  await Promise.all(received.temporary.map((t) => discard(t)));
}

/**
 * Streams one file part to `media/tmp/`, hashing it, then renames it to a staged name beside its final place
 * (`originals/<ab>/<sha256>/<name>`, or the file already stored for that content). Undefined for an empty file.
 */
async function receiveFile(ctx: ServerContext, part: MultipartFile, clientName: string, temporary: string[]): Promise<IngestUpload | undefined> {
  const tmpDir = join(ctx.mediaDir, 'tmp');
  await mkdir(tmpDir, { recursive: true });
  const tmp = stagedPath(join(tmpDir, 'upload'));
  temporary.push(tmp);
  const hash = createHash('sha256');
  let size = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      size += chunk.length;
      ctx.admission.bodyGarbage.received(chunk.length);
      done(null, chunk);
    },
  });
  await pipeline(part.file, tap, createWriteStream(tmp, { flags: 'wx' }));
  if (part.file.truncated) {
    throw new ApiError(413, 'payload_too_large', `An uploaded file is larger than this server accepts (${ctx.config.maxImageBytes} bytes).`);
  }
  if (size === 0) {
    await discard(tmp);
    return undefined;
  }
  const digest = hash.digest('hex');
  const dir = join(originalsDir(ctx), digest.slice(0, 2), digest);
  const kept = (await readdir(dir).catch(() => [] as string[])).find((f) => !parseTemporary(join(dir, f)));
  const original = join(dir, kept ?? safeFileName(clientName));
  await mkdir(dir, { recursive: true });
  const staged = stagedPath(original);
  await rename(tmp, staged);
  temporary.push(staged);
  return { file: staged, original, name: basename(original) };
}

/** An image body received for classification: a temporary file (or, when the disk is full, the bytes). */
export interface ReceivedImage {
  input: string | Buffer;
  discard(): Promise<void>;
}

/** 413 for an image over the server's limit of `maxImageBytes`. */
function imageTooLarge(maxImageBytes: number): ApiError {
  return new ApiError(413, 'payload_too_large', `The image is larger than this server accepts (${maxImageBytes} bytes).`);
}

const DISK_FULL = new Set(['ENOSPC', 'EDQUOT']);
/** Received chunks (16-64 KB each) are written in batches of about this many bytes: one write call each. */
const WRITE_BATCH = 1024 * 1024;

/** Where `receiveImageInto` puts a body and what it allows. */
export interface ImageReceiver {
  /** Folder of the temporary files (created as needed). */
  tmpDir: string;
  maxImageBytes: number;
  /** Counts received bytes for the young collection that frees their read buffers (body-garbage.ts). */
  garbage?: { received(bytes: number): void };
}

/** The library server's receiver: its folder (`media/tmp/`), limit and body accounting. */
export function imageReceiver(ctx: ServerContext): ImageReceiver {
  return { tmpDir: join(ctx.mediaDir, 'tmp'), maxImageBytes: ctx.config.maxImageBytes, garbage: ctx.admission.bodyGarbage };
}

/** `receiveImageInto` with the library server's receiver. */
export function receiveImage(ctx: ServerContext, body: Readable): Promise<ReceivedImage | undefined> {
  return receiveImageInto(imageReceiver(ctx), body);
}

/**
 * A raw request body (handed over unread by the route's parser) received as `receiveImageInto` does; one that
 * declares more than `maxImageBytes` is refused with 413 before any of it is read. Undefined for no or an empty body.
 */
export async function receiveRawImage(to: ImageReceiver, req: FastifyRequest): Promise<ReceivedImage | undefined> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > to.maxImageBytes) throw imageTooLarge(to.maxImageBytes);
  return req.body instanceof Readable ? receiveImageInto(to, req.body) : undefined;
}

/**
 * Streams one image body (a raw request body or a multipart file) to a temporary file in `to.tmpDir`, so a whole
 * body is never held in memory; past `maxImageBytes` 413 `payload_too_large`. Classification stores nothing, so on
 * a full disk it goes on in memory (what was written is read back). Undefined for an empty body. The file is
 * removed on any failure; the caller discards the result once done.
 */
export async function receiveImageInto(to: ImageReceiver, body: Readable): Promise<ReceivedImage | undefined> {
  const path = stagedPath(join(to.tmpDir, 'classify'));
  let file: FileHandle | undefined;
  /** Set once the disk is full: everything received, in order. */
  let memory: Buffer[] | undefined;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  /** Bytes known to be in the file. */
  let flushed = 0;
  let size = 0;
  const toMemory = async (err: unknown, unwritten: Buffer[]) => {
    if (!DISK_FULL.has((err as NodeJS.ErrnoException).code ?? '')) throw err;
    const written = file ? (await readFile(path).catch(() => Buffer.alloc(0))).subarray(0, flushed) : Buffer.alloc(0);
    await file?.close().catch(() => undefined);
    file = undefined;
    await discard(path);
    memory = [written, ...unwritten];
  };
  const flush = async () => {
    if (!file || pending.length === 0) return;
    const chunks = pending;
    const total = pendingBytes;
    pending = [];
    pendingBytes = 0;
    try {
      const { bytesWritten } = await file.writev(chunks);
      flushed += bytesWritten;
      if (bytesWritten < total) await toMemory(Object.assign(new Error('short write'), { code: 'ENOSPC' }), [Buffer.concat(chunks).subarray(bytesWritten)]);
    } catch (err) {
      await toMemory(err, chunks);
    }
  };
  try {
    await mkdir(to.tmpDir, { recursive: true }).catch((err: unknown) => toMemory(err, []));
    if (!memory) file = await open(path, 'wx').catch(async (err: unknown) => (await toMemory(err, []), undefined));
    for await (const chunk of body as AsyncIterable<Buffer>) {
      size += chunk.length;
      to.garbage?.received(chunk.length);
      if (size > to.maxImageBytes) throw imageTooLarge(to.maxImageBytes);
      if (memory) {
        memory.push(chunk);
        continue;
      }
      pending.push(chunk);
      pendingBytes += chunk.length;
      if (pendingBytes >= WRITE_BATCH) await flush();
    }
    if ((body as Readable & { truncated?: boolean }).truncated) throw imageTooLarge(to.maxImageBytes); // a multipart file cut at its limit
    await flush();
    await file?.close();
  } catch (err) {
    await file?.close().catch(() => undefined);
    await discard(path);
    throw err;
  }
  if (size === 0) {
    await discard(path);
    return undefined;
  }
  if (memory) return { input: Buffer.concat(memory as Buffer[]), discard: async () => undefined };
  return { input: path, discard: () => discard(path) };
}

/** A file name safe to keep on disk: the base name, tame characters only, a short image extension kept. */
export function safeFileName(name: string): string {
  const base = basename(name.replace(/\\/g, '/'));
  const rawExt = extname(base).toLowerCase().replace(/[^a-z0-9.]/g, '').slice(0, 6);
  // Never a name that looks like a temporary file (`.tmp`), which the media sweep would remove.
  const ext = rawExt === '.tmp' ? '' : rawExt;
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
  // Through model servers the thumbnails' decode is still this server's: within its pixel budget and limit.
  const recognizer =
    ctx.modelServers?.withDecodeLimits({ admit: ctx.admission.decodeGate(ctx.config.admission.maxUploadDecodeWaitMs), maxPixels: ctx.config.maxImagePixels }) ??
    ctx.runtime.recognizer();
  const viewer = ownerViewer(owner.id);
  // The detector starts only for an owner who has face detection on.
  const detector = (await ownerFaceSettings(ctx.db, owner.id)).enabled ? await ctx.faces() : undefined;
  const hierarchy = ctx.runtime.hierarchy();
  const faces = detector && hierarchy ? faceStage(detector, hierarchy) : undefined;
  return mapPool(received.files, UPLOAD_CONCURRENCY, async (f): Promise<UploadResult> => {
    if (!f.staged) return { file: f.file, error: f.error ?? { code: 'upload_failed', message: 'The file was not received.' } };
    const summary = await ingestFiles([f.staged], {
      owner: owner.name,
      visibility: received.visibility,
      recognizer,
      db: ctx.db,
      env: ctx.env,
      concurrency: 1,
      // Reuse an analysis only from photos this owner may already see: otherwise a fast answer would reveal
      // that someone else privately holds the same file.
      reuse: viewer,
      faces,
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
const SHOWN_CODES = new Set(['empty_file', 'too_large', 'too_many_pixels', 'unsupported_format', 'truncated', 'decode_failed', 'queue_full', 'storage_full', 'overloaded']);

/** An ingest failure as the uploader sees it: a stable code, and a message without the server's paths. */
function uploadError(code: string, message: string, f: ReceivedUpload): { code: string; message: string } {
  if (!SHOWN_CODES.has(code)) return { code: 'ingest_failed', message: 'The photo could not be stored; the server logged why.' };
  if (code === 'queue_full' || code === 'overloaded') return { code, message: 'The classifier is busy; upload this file again shortly.' };
  if (code === 'storage_full') return { code, message: 'The server has no room left to store this file.' };
  const paths = f.staged ? [f.staged.file, f.staged.original] : [];
  const m = scrubPaths(paths.reduce((acc, p) => acc.split(p).join(f.file), message));
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
    if (!f.staged) {
      out.push({ file: f.file, error: f.error ?? { code: 'upload_failed', message: 'The file was not received.' } });
      continue;
    }
    // A worker reads the original later: put it in its place (originals/<ab>/<sha256>/) before the job exists.
    const { file: staged, original } = f.staged;
    if (staged !== original) await rename(staged, original);
    const hash = basename(dirname(original));
    out.push({ file: f.file, job: await queue.submitIngest({ owner: owner.name, path: original, hash, visibility: received.visibility, model }) });
  }
  return out;
}
