// `GET /v1/jobs`: progress of the job queue (a cluster's ingest, reclassify and reindex jobs): counts per queue
// and state, jobs retried, and the latest failures with their reasons. Owners see their own jobs, admins all.
import type { FastifyInstance } from 'fastify';
import { ApiError, errorBodySchema } from '../errors.js';
import { bearer } from '../schemas.js';

const counts = {
  type: 'object',
  properties: Object.fromEntries(['created', 'retry', 'active', 'completed', 'cancelled', 'failed'].map((k) => [k, { type: 'integer' }])),
} as const;

export function registerJobRoutes(app: FastifyInstance): void {
  const ctx = app.pictograph;
  app.get(
    '/v1/jobs',
    {
      schema: {
        summary: 'Job queue progress (cluster mode): jobs per queue and state, retries, latest failures.',
        tags: ['jobs'],
        security: bearer,
        response: {
          200: {
            type: 'object',
            properties: {
              queues: { type: 'object', properties: { ingest: counts, reclassify: counts, reindex: counts } },
              retried: { type: 'integer' },
              failures: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    queue: { type: 'string' },
                    id: { type: 'string' },
                    owner: { type: ['string', 'null'] },
                    retries: { type: 'integer' },
                    reason: { type: 'string' },
                    at: { type: 'string' },
                  },
                },
              },
            },
          },
          '4xx': errorBodySchema,
        },
      },
    },
    async (req) => {
      const caller = req.caller;
      if (!caller.owner && !caller.admin) throw new ApiError(401, 'unauthorized', 'Sign in to see your jobs.');
      if (!ctx.queue) throw new ApiError(404, 'no_queue', 'This server has no job queue: uploads are ingested at once (serve --queue with DATABASE_URL enables it).');
      return ctx.queue.progress({ owner: caller.admin ? undefined : caller.owner!.name });
    },
  );
}
