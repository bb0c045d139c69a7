// `POST /v1/classify`: one image in (raw body or multipart `file`), concepts out; nothing stored. Requests are
// admitted by work (body bytes, then decoded pixels) and micro-batched; past the limits 429 with Retry-After.
import { readFile } from 'node:fs/promises';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { admitBody } from '../admission.js';
import { requireOwner } from '../auth.js';
import { ApiError, badRequest, errorBodySchema, multipartError } from '../errors.js';
import { bearer, categorySchema, hedgedSchema, modelRefSchema, synsetRefSchema, timelineSchema } from '../schemas.js';
import { ModelServerError } from '../../library/remote-recognizer.js';
import { imageReceiver, receiveImage, receiveRawImage, type ReceivedImage } from '../uploads.js';

interface ClassifyQuery {
  top: number;
  target?: number;
  model?: string;
}

export function registerClassifyRoutes(app: FastifyInstance): void {
  const { runtime, config, admission } = app.pictograph;
  app.post<{ Querystring: ClassifyQuery }>(
    '/v1/classify',
    {
      onRequest: admitBody(admission, config.maxImageBytes),
      schema: {
        summary: 'Classify one image (not stored).',
        description:
          'Send the image as the raw body (`image/*` or `application/octet-stream`) or as multipart field `file`.',
        tags: ['classify'],
        security: bearer,
        querystring: {
          type: 'object',
          properties: {
            top: { type: 'integer', minimum: 1, maximum: 100, default: 5 },
            target: { type: 'number', exclusiveMinimum: 0, exclusiveMaximum: 1 },
            model: { type: 'string', maxLength: 100 },
          },
        },
        response: {
          200: {
            type: 'object',
            required: ['model', 'concepts', 'hedged', 'path', 'categories', 'tags'],
            properties: {
              model: modelRefSchema,
              concepts: {
                type: 'array',
                items: {
                  type: 'object',
                  required: ['id', 'name', 'value'],
                  properties: { id: { type: 'string' }, name: { type: 'string' }, value: { type: 'number' } },
                },
              },
              hedged: hedgedSchema,
              path: { type: 'array', items: synsetRefSchema },
              categories: { type: 'array', items: categorySchema },
              tags: {
                type: 'array',
                description: 'Everyday concepts at or above their calibrated threshold, best first.',
                items: {
                  type: 'object',
                  required: ['id', 'name', 'score'],
                  properties: { id: { type: 'string' }, name: { type: 'string' }, score: { type: 'number' } },
                },
              },
              subject: {
                type: 'object',
                description: 'The photo’s consumer category (people, animals, landscapes & nature, ...) from the everyday subject head (absent without one).',
                properties: { id: { type: 'string' }, score: { type: 'number' } },
              },
              timeline: { ...timelineSchema, description: 'Animations only (GIF, WebP, APNG): scenes and keyframes; the labels above are then the whole animation’s, weighted by time on screen.' },
            },
          },
          '4xx': errorBodySchema,
          '5xx': errorBodySchema,
        },
      },
    },
    async (req) => {
      if (config.classifyAccess === 'token' && !req.caller.admin) requireOwner(req);
      const image = await imageFromRequest(req);
      try {
        const remote = app.pictograph.modelServers;
        if (remote && req.query.target === undefined && !req.query.model) {
          // Model servers configured: they classify (same answer shape); a per-request target or model stays local.
          try {
            return (await remote.classify(typeof image.input === 'string' ? await readFile(image.input) : image.input, req.query.top)) as Record<string, unknown>;
          } catch (err) {
            if (err instanceof ModelServerError) {
              const { status = 503, retryAfterMs } = err as { status?: number; retryAfterMs?: number };
              const retry: Record<string, string> = status === 503 || status === 429 ? { 'retry-after': String(Math.max(1, Math.ceil((retryAfterMs ?? 1000) / 1000))) } : {};
              throw new ApiError(status, err.code, err.message.replace(/^model server \S+: /, ''), retry);
            }
            throw err;
          }
        }
        return await runtime.classify(image.input, { top: req.query.top, target: req.query.target, model: req.query.model });
      } finally {
        await image.discard();
      }
    },
  );
}

/**
 * The image of a classify request, received into a temporary file: the raw body (streamed: this route's parser
 * hands the body over unread), or the multipart field `file`. The caller discards it.
 */
export async function imageFromRequest(req: FastifyRequest): Promise<ReceivedImage> {
  const ctx = req.server.pictograph;
  if (req.isMultipart()) {
    try {
      for await (const part of req.parts()) {
        if (part.type === 'file') {
          if (part.fieldname !== 'file') {
            part.file.resume();
            continue;
          }
          const image = await receiveImage(ctx, part.file);
          if (!image) throw new ApiError(400, 'empty_body', 'The uploaded file is empty.');
          return image;
        }
      }
    } catch (err) {
      throw multipartError(err);
    }
    throw badRequest('The multipart body has no `file` field.', 'empty_body');
  }
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  const image = await receiveRawImage(imageReceiver(ctx), req);
  if (!image) {
    if (type !== '' && !type.startsWith('image/') && type !== 'application/octet-stream') throw unsupported(type);
    throw new ApiError(400, 'empty_body', 'The request body is empty; send an image.');
  }
  return image;
}

function unsupported(type: string): ApiError {
  return new ApiError(
    415,
    'unsupported_media_type',
    `Content-Type ${type} is not accepted here; send image/*, application/octet-stream or multipart/form-data.`,
  );
}
