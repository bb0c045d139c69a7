// Feedback routes: "Was our result good?" on a photo (stored with who said it and which model was judged),
// and the accuracy users' judgements add up to, per model and per label.
import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { addFeedback, feedbackSummary } from '../../library/feedback.js';
import { photoDetail } from '../../library/photos.js';
import { ApiError, errorBodySchema } from '../errors.js';
import { bearer, idParamsSchema, wnidPattern } from '../schemas.js';
import { requireJson } from './owners.js';

const errors = { '4xx': errorBodySchema, '5xx': errorBodySchema };

/** Who is judging: the signed-in owner, an admin, or an anonymous client by (a hash of) its address. */
export function voterOf(req: FastifyRequest): string {
  if (req.caller.owner) return `owner:${req.caller.owner.id}`;
  if (req.caller.admin) return 'admin';
  return `client:${createHash('sha256').update(`pictograph-voter:${req.ip}`).digest('hex').slice(0, 24)}`;
}

export function registerFeedbackRoutes(app: FastifyInstance): void {
  const { db, runtime, config } = app.pictograph;

  app.post<{ Params: { id: number }; Body: { correct: boolean; wnid?: string } }>(
    '/v1/photos/:id/feedback',
    {
      schema: {
        summary: 'Judge a photo’s label: right or wrong, and optionally the right synset.',
        description:
          'One judgement per caller and photo: judging again replaces your earlier answer. Rate-limited per caller ' +
          '(token, else client address; `serve --feedback-per-minute`, default 30): 429 `rate_limited` with Retry-After.',
        tags: ['feedback'],
        security: bearer,
        params: idParamsSchema,
        body: {
          type: 'object',
          required: ['correct'],
          additionalProperties: false,
          properties: { correct: { type: 'boolean' }, wnid: { type: 'string', maxLength: 20 } },
        },
        response: {
          201: {
            type: 'object',
            properties: {
              feedback: {
                type: 'object',
                properties: {
                  id: { type: 'integer' },
                  photo: { type: 'integer' },
                  correct: { type: 'boolean' },
                  wnid: { type: 'string', nullable: true },
                  name: { type: 'string', nullable: true },
                  model: { type: 'string' },
                  owner: { type: 'string', nullable: true },
                  at: { type: 'string' },
                },
              },
            },
          },
          ...errors,
        },
      },
      preValidation: requireJson,
      config: {
        rateLimit: {
          max: config.feedbackPerMinute,
          timeWindow: 60_000,
          keyGenerator: (req: FastifyRequest) => voterOf(req),
          errorResponseBuilder: (_req: FastifyRequest, ctx: { after: string }) =>
            new ApiError(429, 'rate_limited', `Too many feedback answers; try again in ${ctx.after}.`),
        },
      },
    },
    async (req, reply) => {
      const photo = await photoDetail(db, req.caller.viewer, req.params.id, { nodes: 0 });
      const { correct, wnid } = req.body;
      if (wnid !== undefined) {
        const { hierarchy } = await runtime.taxonomy();
        if (!new RegExp(wnidPattern).test(wnid) || !hierarchy.wordnet.has(wnid)) {
          throw new ApiError(404, 'unknown_synset', `${wnid} is not a WordNet 3.0 noun id (e.g. n02084071).`);
        }
      }
      const feedback = await addFeedback(db, {
        photoId: photo.id,
        ownerId: req.caller.owner?.id ?? null,
        voter: voterOf(req),
        modelId: photo.model.id,
        correct,
        wnid: wnid ?? null,
      });
      const name = feedback.wnid ? (runtime.view()?.name(feedback.wnid) ?? null) : null;
      return reply.code(201).send({ feedback: { ...feedback, name } });
    },
  );

  app.get(
    '/v1/feedback/summary',
    {
      schema: {
        summary: 'Accuracy as judged by users, per model and per label (over photos you may see).',
        tags: ['feedback'],
        security: bearer,
        response: {
          200: {
            type: 'object',
            properties: {
              models: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: { model: { type: 'string' }, judged: { type: 'integer' }, correct: { type: 'integer' }, accuracy: { type: 'number' } },
                },
              },
              categories: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    wnid: { type: 'string' },
                    name: { type: 'string' },
                    judged: { type: 'integer' },
                    correct: { type: 'integer' },
                    accuracy: { type: 'number' },
                  },
                },
              },
            },
          },
          ...errors,
        },
      },
    },
    async (req) => {
      const summary = await feedbackSummary(db, req.caller.viewer);
      const view = runtime.view();
      return {
        models: summary.models,
        categories: summary.categories.map((c) => ({ ...c, name: c.name === c.wnid ? (view?.name(c.wnid) ?? c.wnid) : c.name })),
      };
    },
  );
}
