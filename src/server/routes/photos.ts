// Photo routes: list (under a synset / by owner, keyset-paged), detail, thumbnails, originals, upload and
// ingest, reclassify. Private photos of others are invisible (404); no response carries a server path.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { resolve, sep } from 'node:path';
import { visibleTag } from './tags.js';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { listPhotos, photoDetail, similarPhotos } from '../../library/photos.js';
import { deletePhoto } from '../../library/people.js';
import { findOwnerId, replaceAnalysis, setVisibility } from '../../library/store.js';
import { requireJson } from './owners.js';
import { feedbackOf } from '../../library/feedback.js';
import { thumbnailMediaType } from '../../library/thumbnails.js';
import { requireOwner } from '../auth.js';
import { ApiError, errorBodySchema, forbidden } from '../errors.js';
import { photoSummary, photoUrl } from '../presenters.js';
import {
  bearer,
  categorySchema,
  idParamsSchema,
  modelRefSchema,
  photoSummaryProperties,
  photoSummarySchema,
  synsetRefSchema,
  timelineSchema,
  wnidPattern,
} from '../schemas.js';
import { discardUploads, enqueueUploads, receiveUploads, ingestUploads } from '../uploads.js';
import type { ServerContext } from '../app.js';
import type { Caller } from '../auth.js';

const errors = { '4xx': errorBodySchema, '5xx': errorBodySchema };


/**
 * A category page lists photos whose score under the synset is at least this: stored node scores go down to
 * 0.01, and a "dog" page should not end with tennis balls at 0.13. (A hedged label under the synset implies
 * about 0.3 or more at the committed calibrations.) `min_score=0` lists everything stored.
 */
const UNDER_MIN_SCORE = 0.2;
export const photoDetailSchema = {
  type: 'object',
  properties: {
    ...photoSummaryProperties,
    taken_at: { type: 'string', nullable: true },
    camera: { type: 'string', nullable: true },
    model: modelRefSchema,
    path: { type: 'array', items: synsetRefSchema },
    categories: { type: 'array', items: categorySchema },
    similar: { type: 'array', items: photoSummarySchema },
    original: { type: 'string' },
    timeline: timelineSchema,
    feedback: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          correct: { type: 'boolean' },
          wnid: { type: 'string', nullable: true },
          name: { type: 'string', nullable: true },
          owner: { type: 'string', nullable: true },
          at: { type: 'string' },
        },
      },
    },
  },
} as const;

const MEDIA_TYPES: Record<string, string> = {
  jpeg: 'image/jpeg',
  png: 'image/png',
  webp: 'image/webp',
  avif: 'image/avif',
  tiff: 'image/tiff',
  gif: 'image/gif',
};

/** Originals a browser can show as they are. */
const BROWSER_FORMATS = new Set(['jpeg', 'png', 'webp', 'avif', 'gif']);

async function isFile(path: string): Promise<boolean> {
  return (await stat(path).catch(() => null))?.isFile() ?? false;
}

export function registerPhotoRoutes(app: FastifyInstance): void {
  const ctx = app.pictograph;
  const { db, runtime } = ctx;

  app.get<{ Querystring: { under?: string; tag?: string; owner?: string; cursor?: string; limit: number; min_score?: number } }>(
    '/v1/photos',
    {
      schema: {
        summary: 'Photos you may see: under a synset or carrying a tag (best first), or all (newest first), optionally one owner’s.',
        tags: ['photos'],
        security: bearer,
        querystring: {
          type: 'object',
          properties: {
            under: { type: 'string', pattern: wnidPattern },
            tag: { type: 'string', minLength: 1, maxLength: 200, description: 'Only photos carrying this tag (see /v1/tags), best tag score first.' },
            owner: { type: 'string', minLength: 1, maxLength: 100 },
            cursor: { type: 'string', maxLength: 512 },
            limit: { type: 'integer', minimum: 1, maximum: 200, default: 50 },
            min_score: {
              type: 'number',
              minimum: 0,
              maximum: 1,
              description: `With \`under\`: the least score under the synset a photo needs (default ${UNDER_MIN_SCORE}).`,
            },
          },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              photos: { type: 'array', items: photoSummarySchema },
              next_cursor: { type: 'string', nullable: true },
            },
          },
          ...errors,
        },
      },
    },
    async (req) => {
      const { under, owner, cursor, limit, tag } = req.query;
      if (tag !== undefined) {
        if (under !== undefined) throw new ApiError(400, 'bad_request', 'Give `under` or `tag`, not both.');
        await visibleTag(db, req.caller.viewer, tag);
        const page = await listPhotos(db, req.caller.viewer, { tag, owner, cursor, limit });
        return { photos: page.photos.map(photoSummary), next_cursor: page.nextCursor };
      }
      const minScore = under !== undefined ? (req.query.min_score ?? UNDER_MIN_SCORE) : undefined;
      const page = await listPhotos(db, req.caller.viewer, { under, owner, cursor, limit, minScore, taxonomy: runtime.view(), newestFirst: true });
      return { photos: page.photos.map(photoSummary), next_cursor: page.nextCursor };
    },
  );

  app.get<{ Params: { id: number } }>(
    '/v1/photos/:id',
    {
      schema: {
        summary: 'One photo: labels, hedged label and its path, categories, similar photos, your feedback.',
        tags: ['photos'],
        security: bearer,
        params: idParamsSchema,
        response: { 200: photoDetailSchema, ...errors },
      },
    },
    async (req) => photoDetailResponse(ctx, req.caller, req.params.id),
  );

  app.get<{ Params: { id: number }; Querystring: { size: 256 | 1024 } }>(
    '/v1/photos/:id/thumbnail',
    {
      schema: {
        summary: 'A JPEG thumbnail (WebP in older libraries), longest side 256 or 1024 px.',
        tags: ['photos'],
        security: bearer,
        params: idParamsSchema,
        querystring: { type: 'object', properties: { size: { type: 'integer', enum: [256, 1024], default: 256 } } },
        response: errors,
      },
    },
    async (req, reply) => {
      const photo = await photoDetail(db, req.caller.viewer, req.params.id, { nodes: 0 });
      // A photo no larger than 1024 px has no large copy: its original (in a format browsers show) serves instead.
      if (req.query.size === 1024 && !photo.thumbnails.large && BROWSER_FORMATS.has(photo.format) && (await isFile(photo.originalPath))) {
        return sendFile(reply, photo.originalPath, MEDIA_TYPES[photo.format]!, photo.visibility, `"${photo.contentHash}"`);
      }
      const name = req.query.size === 1024 ? (photo.thumbnails.large ?? photo.thumbnails.small) : (photo.thumbnails.small ?? photo.thumbnails.large);
      if (!name) throw new ApiError(404, 'thumbnail_missing', `Photo ${photo.id} has no thumbnail.`);
      const file = insideMedia(ctx, name);
      return sendFile(reply, file, thumbnailMediaType(name), photo.visibility, `"${name.replace(/[^\w.-]/g, '')}"`);
    },
  );

  app.get<{ Params: { id: number; n: number } }>(
    '/v1/photos/:id/keyframes/:n',
    {
      schema: {
        summary: 'A WebP thumbnail of keyframe n (from 0) of an animation’s timeline.',
        tags: ['photos'],
        security: bearer,
        params: { type: 'object', required: ['id', 'n'], properties: { id: { type: 'integer', minimum: 1 }, n: { type: 'integer', minimum: 0, maximum: 10000 } } },
        response: errors,
      },
    },
    async (req, reply) => {
      const photo = await photoDetail(db, req.caller.viewer, req.params.id, { nodes: 0 });
      const name = photo.timeline?.keyframes[req.params.n]?.thumb;
      if (!name) throw new ApiError(404, 'thumbnail_missing', `Photo ${photo.id} has no keyframe ${req.params.n}.`);
      return sendFile(reply, insideMedia(ctx, name), 'image/webp', photo.visibility, `"${name.replace(/[^\w.-]/g, '')}"`);
    },
  );

  app.get<{ Params: { id: number } }>(
    '/v1/photos/:id/original',
    {
      schema: { summary: 'The original file as ingested.', tags: ['photos'], security: bearer, params: idParamsSchema, response: errors },
    },
    async (req, reply) => {
      const photo = await photoDetail(db, req.caller.viewer, req.params.id, { nodes: 0 });
      const type = MEDIA_TYPES[photo.format] ?? 'application/octet-stream';
      return sendFile(reply, photo.originalPath, type, photo.visibility, `"${photo.contentHash}"`);
    },
  );

  app.post(
    '/v1/photos',
    {
      schema: {
        summary: 'Upload photos (multipart `file` fields, optional `visibility`); each is ingested for you.',
        tags: ['photos'],
        security: bearer,
        consumes: ['multipart/form-data'],
        response: {
          200: {
            type: 'object',
            properties: {
              results: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    file: { type: 'string' },
                    photo: photoSummarySchema,
                    error: errorBodySchema.properties.error,
                  },
                },
              },
            },
          },
          202: {
            description: 'With a job queue (a cluster): one ingest job per file; follow them at GET /v1/jobs.',
            type: 'object',
            properties: {
              jobs: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    file: { type: 'string' },
                    job: { type: 'object', properties: { id: { type: 'string' }, created: { type: 'boolean' } } },
                    error: errorBodySchema.properties.error,
                  },
                },
              },
            },
          },
          ...errors,
        },
      },
    },
    async (req, reply) => {
      const owner = requireOwner(req);
      if (!req.isMultipart()) {
        throw new ApiError(415, 'unsupported_media_type', 'Upload photos as multipart/form-data with one or more `file` fields.');
      }
      const received = await receiveUploads(ctx, req);
      let results;
      try {
        if (ctx.queue) {
          // A cluster: workers classify and store; answer at once with the jobs (follow them at GET /v1/jobs).
          return reply.code(202).send({ jobs: await enqueueUploads(ctx, ctx.queue, owner, received) });
        }
        results = await ingestUploads(ctx, owner, received, req.log);
      } finally {
        // Whatever was not committed or queued (bad files, failures, duplicates) leaves nothing behind.
        await discardUploads(received);
      }
      if (results.some((r) => r.error?.code === 'storage_full')) {
        throw new ApiError(507, 'storage_full', 'The server has no room left to store uploads; try again later.');
      }
      // Nothing could be classified because the queue was full: shed the whole request like classify does.
      if (results.length > 0 && results.every((r) => r.error?.code === 'queue_full')) {
        throw new ApiError(429, 'queue_full', 'The classifier is busy; upload again shortly.', {
          'retry-after': String(ctx.config.retryAfterSeconds),
        });
      }
      return { results };
    },
  );

  app.patch<{ Params: { id: number }; Body: { visibility: 'private' | 'public' } }>(
    '/v1/photos/:id',
    {
      schema: {
        summary: 'Change a photo’s visibility (its owner or an admin).',
        tags: ['photos'],
        security: bearer,
        params: idParamsSchema,
        body: {
          type: 'object',
          required: ['visibility'],
          additionalProperties: false,
          properties: { visibility: { type: 'string', enum: ['private', 'public'] } },
        },
        response: { 200: photoSummarySchema, ...errors },
      },
      preValidation: requireJson,
    },
    async (req) => {
      const caller = req.caller;
      if (!caller.owner && !caller.admin) throw new ApiError(401, 'unauthorized', 'Sign in to change your photos.');
      const photo = await photoDetail(db, caller.viewer, req.params.id, { nodes: 0 });
      if (!caller.admin && photo.owner !== caller.owner?.name) throw forbidden('Only the photo’s owner or an admin may change it.');
      await setVisibility(db, photo.id, req.body.visibility);
      return photoSummary(await photoDetail(db, caller.viewer, photo.id, { nodes: 0 }));
    },
  );

  app.delete<{ Params: { id: number } }>(
    '/v1/photos/:id',
    {
      schema: {
        summary: 'Delete a photo (its owner or an admin): its analysis, faces and counts go with it, and its thumbnails and uploaded original unless another photo has the same file.',
        tags: ['photos'],
        security: bearer,
        params: idParamsSchema,
        response: {
          200: {
            type: 'object',
            required: ['id', 'deleted', 'files_removed'],
            properties: { id: { type: 'integer' }, deleted: { type: 'boolean' }, files_removed: { type: 'integer' } },
          },
          ...errors,
        },
      },
    },
    async (req) => {
      const caller = req.caller;
      if (!caller.owner && !caller.admin) throw new ApiError(401, 'unauthorized', 'Sign in to delete your photos.');
      const photo = await photoDetail(db, caller.viewer, req.params.id, { nodes: 0 });
      if (!caller.admin && photo.owner !== caller.owner?.name) throw forbidden('Only the photo’s owner or an admin may delete it.');
      const ownerId = await findOwnerId(db, photo.owner);
      if (ownerId === undefined) throw new ApiError(404, 'not_found', `No photo ${photo.id}.`);
      const { filesRemoved } = await deletePhoto(db, ownerId, photo.id, { media: ctx.mediaDir });
      return { id: photo.id, deleted: true, files_removed: filesRemoved };
    },
  );

  app.post<{ Params: { id: number }; Querystring: { target?: number } }>(
    '/v1/photos/:id/reclassify',
    {
      schema: {
        summary: 'Classify a stored photo again with the current model (its owner or an admin).',
        tags: ['photos'],
        security: bearer,
        params: idParamsSchema,
        querystring: { type: 'object', properties: { target: { type: 'number', exclusiveMinimum: 0, exclusiveMaximum: 1 } } },
        response: { 200: photoDetailSchema, ...errors },
      },
    },
    async (req) => {
      const caller = req.caller;
      if (!caller.owner && !caller.admin) throw new ApiError(401, 'unauthorized', 'Sign in to reclassify your photos.');
      const photo = await photoDetail(db, caller.viewer, req.params.id, { nodes: 0 });
      const ownerName = caller.owner?.name;
      if (!caller.admin && photo.owner !== ownerName) throw forbidden('Only the photo’s owner or an admin may reclassify it.');
      let prediction;
      try {
        prediction = await runtime.predict(photo.originalPath);
      } catch (err) {
        if ((err as { code?: string }).code === 'not_found') {
          throw new ApiError(409, 'original_missing', `The original file of photo ${photo.id} is no longer available.`);
        }
        throw err;
      }
      const analysis = await runtime.analyze(prediction, { target: req.query.target });
      await replaceAnalysis(db, photo.id, analysis);
      return photoDetailResponse(ctx, caller, photo.id);
    },
  );
}

/** GET /v1/photos/:id's body. */
export async function photoDetailResponse(ctx: ServerContext, caller: Caller, id: number) {
  const view = ctx.runtime.view();
  const photo = await photoDetail(ctx.db, caller.viewer, id, { taxonomy: view, nodes: 0 });
  const similar = await similarPhotos(ctx.db, caller.viewer, id, { limit: 8, index: ctx.similar });
  const feedback = caller.owner ? await feedbackOf(ctx.db, id, caller.owner.id) : [];
  return {
    ...photoSummary(photo),
    taken_at: photo.takenAt,
    camera: photo.camera,
    model: photo.model,
    path: photo.path,
    categories: photo.categories,
    similar: similar.map(photoSummary),
    original: `${photoUrl(photo.id)}/original`,
    timeline: photo.timeline
      ? {
          ...photo.timeline,
          keyframes: photo.timeline.keyframes.map((k, i) => ({
            frame: k.frame,
            t_ms: k.t_ms,
            reason: k.reason,
            thumbnail: k.thumb ? `${photoUrl(photo.id)}/keyframes/${i}` : null,
          })),
        }
      : null,
    feedback: feedback.map((f) => ({ correct: f.correct, wnid: f.wnid, name: f.wnid ? (view?.name(f.wnid) ?? null) : null, owner: f.owner, at: f.at })),
  };
}

/** A media file path from a stored relative name, refusing anything that escapes the media folder. */
export function insideMedia(ctx: ServerContext, name: string): string {
  const root = resolve(ctx.mediaDir);
  const file = resolve(root, name);
  if (!file.startsWith(root + sep)) throw new ApiError(404, 'thumbnail_missing', 'This thumbnail is not available.');
  return file;
}

async function sendFile(reply: FastifyReply, file: string, type: string, visibility: string, etag: string) {
  // A private photo is revalidated on every use (304 while the caller may see it), so after signing out or in as
  // someone else the browser's cache cannot show it; who is asking travels in the cookie or Authorization header.
  const cache = visibility === 'public' ? 'public, max-age=86400' : 'private, no-cache';
  if (visibility !== 'public') reply.header('vary', 'Cookie, Authorization');
  if (reply.request.headers['if-none-match'] === etag) return reply.code(304).header('etag', etag).header('cache-control', cache).send();
  try {
    const s = await stat(file);
    if (!s.isFile()) throw new Error('not a file');
    reply.header('content-length', s.size);
  } catch {
    throw new ApiError(404, 'file_missing', 'The stored file is no longer available on the server.');
  }
  return reply.type(type).header('etag', etag).header('cache-control', cache).send(createReadStream(file));
}

