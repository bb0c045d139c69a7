// Liveness, readiness (model loaded), Prometheus metrics and the OpenAPI document.
import type { FastifyInstance } from 'fastify';
import { requireAdmin } from '../auth.js';
import { errorBodySchema } from '../errors.js';

export function registerHealthRoutes(app: FastifyInstance): void {
  const { runtime, metrics, config } = app.pictograph;
  app.get(
    '/healthz',
    {
      schema: {
        summary: 'Liveness: the process answers.',
        tags: ['ops'],
        response: { 200: { type: 'object', properties: { ok: { type: 'boolean' } } } },
      },
    },
    async () => ({ ok: true }),
  );
  app.get(
    '/readyz',
    {
      schema: {
        summary: 'Readiness: 200 once the model is loaded, 503 before.',
        tags: ['ops'],
        response: {
          200: { type: 'object', properties: { ready: { type: 'boolean' }, models: { type: 'array', items: { type: 'string' } } } },
          503: {
            type: 'object',
            properties: { ready: { type: 'boolean' }, error: errorBodySchema.properties.error },
          },
        },
      },
    },
    async (_req, reply) => {
      if (runtime.ready()) return { ready: true, models: runtime.modelIds() };
      const failure = runtime.loadFailure();
      return reply.code(503).send({
        ready: false,
        error: failure
          ? { code: 'model_load_failed', message: failure }
          : { code: 'not_ready', message: 'The model is still loading.' },
      });
    },
  );
  const metricsSummary =
    config.metricsAccess === 'admin'
      ? 'Prometheus metrics (text format); admin tokens only on this server.'
      : 'Prometheus metrics (text format). Open: aggregate request counts, latencies and queue depths only (no names, ' +
        'no photos); `serve --private-metrics` limits it to admin tokens.';
  app.get('/metrics', { schema: { summary: metricsSummary, tags: ['ops'] } }, async (req, reply) => {
    if (config.metricsAccess === 'admin') requireAdmin(req);
    const text = await metrics.registry.metrics();
    return reply.type(metrics.registry.contentType).send(text);
  });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}
