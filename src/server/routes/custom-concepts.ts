// An owner's custom concepts over HTTP: list, show (curves + diagnosis), teach from stored photos (their stored
// embeddings; nothing is decoded), delete. Private to the owner (and admins): anyone else gets 404.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { conceptPhotos, deleteConcept, listConcepts, ownerEmbeddings, recordConceptFeedback, recordTagFeedback, retrainConcept, showConcept, teachConcept } from '../../library/concepts.js';
import { photoDetail } from '../../library/photos.js';
import { readEverydayVocabulary } from '../../concepts/everyday.js';
import { photoSummaries } from '../../library/photos.js';
import { findOwnerId } from '../../library/store.js';
import { photoSummary } from '../presenters.js';
import { ApiError, errorBodySchema } from '../errors.js';
import { bearer } from '../schemas.js';

const errors = { '4xx': errorBodySchema, '5xx': errorBodySchema };
const params = {
  type: 'object',
  required: ['owner'],
  properties: { owner: { type: 'string', minLength: 1, maxLength: 100 }, concept: { type: 'string', minLength: 1, maxLength: 64 } },
} as const;
const ids = { type: 'array', items: { type: 'integer', minimum: 1 }, maxItems: 10_000 } as const;

/** The owner's id when the caller is that owner or an admin; 404 otherwise (existence is not revealed). */
async function ownerFor(app: FastifyInstance, req: FastifyRequest, owner: string): Promise<number> {
  const caller = req.caller;
  const mine = caller.owner?.name === owner;
  const id = mine || caller.admin ? await findOwnerId(app.pictograph.db, owner) : undefined;
  if (id === undefined) throw new ApiError(404, 'not_found', 'No such concept.');
  return id;
}

export function registerCustomConceptRoutes(app: FastifyInstance): void {
  const db = () => app.pictograph.db;

  app.get<{ Params: { owner: string } }>(
    '/v1/owners/:owner/concepts',
    { schema: { summary: 'The owner’s custom concepts (the owner or an admin only).', tags: ['concepts'], security: bearer, params, response: errors } },
    async (req) => {
      await ownerFor(app, req, req.params.owner);
      return { concepts: await listConcepts(db(), req.params.owner) };
    },
  );

  app.get<{ Params: { owner: string; concept: string } }>(
    '/v1/owners/:owner/concepts/:concept',
    { schema: { summary: 'One custom concept with its training curves and diagnosis.', tags: ['concepts'], security: bearer, params, response: errors } },
    async (req) => {
      await ownerFor(app, req, req.params.owner);
      return showConcept(db(), req.params.owner, req.params.concept);
    },
  );

  app.put<{ Params: { owner: string; concept: string }; Body: { positives: number[]; negatives?: number[]; parent?: string } }>(
    '/v1/owners/:owner/concepts/:concept',
    {
      schema: {
        summary: 'Teach (or retrain) a concept from the owner’s stored photos; re-scores every photo of the owner.',
        tags: ['concepts'],
        security: bearer,
        params,
        body: {
          type: 'object',
          required: ['positives'],
          additionalProperties: false,
          properties: { positives: { ...ids, minItems: 1 }, negatives: ids, parent: { type: 'string', pattern: '^n[0-9]{8}$' } },
        },
        response: errors,
      },
    },
    async (req) => {
      const ownerId = await ownerFor(app, req, req.params.owner);
      const model = app.pictograph.runtime.recognizer().model;
      const stored = new Map((await ownerEmbeddings(db(), ownerId, model)).map((p) => [p.photoId, p]));
      const pick = (list: number[]) =>
        list.map((id) => {
          const p = stored.get(id);
          if (!p) throw new ApiError(400, 'bad_example', `Photo ${id} is not one of ${req.params.owner}’s photos analysed by ${model.id}.`);
          return { embedding: p.embedding, hash: p.hash };
        });
      const { concept, seconds } = await teachConcept(db(), {
        owner: req.params.owner,
        name: req.params.concept,
        model,
        positives: pick(req.body.positives),
        negatives: req.body.negatives ? pick(req.body.negatives) : undefined,
        parent: req.body.parent,
      });
      return { ...concept, seconds };
    },
  );

  app.get<{ Params: { owner: string; concept: string }; Querystring: { limit?: number } }>(
    '/v1/owners/:owner/concepts/:concept/photos',
    {
      schema: {
        summary: 'The owner’s photos ranked by the concept, best first, each with its score and whether it carries the tag.',
        tags: ['concepts'],
        security: bearer,
        params,
        querystring: { type: 'object', additionalProperties: false, properties: { limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } } },
        response: errors,
      },
    },
    async (req) => {
      await ownerFor(app, req, req.params.owner);
      const ranked = await conceptPhotos(db(), req.params.owner, req.params.concept, req.query.limit ?? 100);
      const summaries = new Map((await photoSummaries(db(), req.caller.viewer, ranked.map((p) => p.photoId))).map((s) => [s.id, s]));
      const photos = ranked.flatMap((p) => {
        const s = summaries.get(p.photoId);
        return s ? [{ ...photoSummary(s), score: Math.round(p.score * 1e4) / 1e4, tagged: p.tagged }] : [];
      });
      return { photos };
    },
  );

  app.post<{ Params: { owner: string; concept: string }; Body: { photo: number; correct: boolean } }>(
    '/v1/owners/:owner/concepts/:concept/feedback',
    {
      schema: {
        summary: '“Was this right?” on the concept’s tag of one of the owner’s photos: yes makes it a positive, no a negative, and the concept is retrained (validation F1 before and after).',
        tags: ['concepts'],
        security: bearer,
        params,
        body: {
          type: 'object',
          required: ['photo', 'correct'],
          additionalProperties: false,
          properties: { photo: { type: 'integer', minimum: 1 }, correct: { type: 'boolean' } },
        },
        response: errors,
      },
    },
    async (req) => {
      await ownerFor(app, req, req.params.owner);
      await recordConceptFeedback(db(), req.params.owner, req.params.concept, req.body.photo, req.body.correct);
      const { concept, before, after, added } = await retrainConcept(db(), req.params.owner, req.params.concept);
      return { ...concept, validationF1: { before, after }, feedback: added };
    },
  );

  const everydayIds = new Set(readEverydayVocabulary().map((c) => c.id));
  app.post<{ Params: { id: number; tag: string }; Body: { correct: boolean } }>(
    '/v1/photos/:id/tags/:tag/feedback',
    {
      schema: {
        summary: '“Was this right?” on an everyday tag of a photo you can see: stored as a positive or negative for `concepts retrain --everyday`.',
        tags: ['concepts'],
        security: bearer,
        params: {
          type: 'object',
          required: ['id', 'tag'],
          properties: { id: { type: 'integer', minimum: 1 }, tag: { type: 'string', minLength: 1, maxLength: 64 } },
        },
        body: { type: 'object', required: ['correct'], additionalProperties: false, properties: { correct: { type: 'boolean' } } },
        response: errors,
      },
    },
    async (req, reply) => {
      if (!req.caller.owner && !req.caller.admin) throw new ApiError(401, 'unauthorized', 'Sign in to answer.');
      if (!everydayIds.has(req.params.tag)) throw new ApiError(404, 'unknown_concept', `${req.params.tag} is not an everyday tag.`);
      const photo = await photoDetail(db(), req.caller.viewer, req.params.id, { nodes: 0 });
      await recordTagFeedback(db(), { photoId: photo.id, ownerId: req.caller.owner?.id ?? null, modelId: photo.model.id, concept: req.params.tag, correct: req.body.correct });
      return reply.code(201).send({ photo: photo.id, tag: req.params.tag, correct: req.body.correct });
    },
  );

  app.delete<{ Params: { owner: string; concept: string } }>(
    '/v1/owners/:owner/concepts/:concept',
    { schema: { summary: 'Delete a custom concept and its tags.', tags: ['concepts'], security: bearer, params, response: errors } },
    async (req, reply) => {
      await ownerFor(app, req, req.params.owner);
      await deleteConcept(db(), req.params.owner, req.params.concept);
      return reply.code(204).send();
    },
  );
}
