// The HTTP API server: a Fastify app over the photo library and the recognition runtime — error model,
// auth, metrics, OpenAPI, body limits, routes, and the built web app with SPA fallback.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import multipart from '@fastify/multipart';
import fastifyStatic from '@fastify/static';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { LibraryDb } from '../library/db.js';
import { mediaDir } from '../config/paths.js';
import { resolveCaller } from './auth.js';
import { serverConfig, type ServerConfig } from './config.js';
import { ApiError, errorBody, toApiError } from './errors.js';
import { createMetrics, type ServerMetrics } from './metrics.js';
import { ModelRuntime, type RuntimeSource } from './runtime.js';
import { registerHealthRoutes } from './routes/health.js';
import { registerClassifyRoutes } from './routes/classify.js';
import { registerPhotoRoutes } from './routes/photos.js';
import { registerConceptRoutes } from './routes/concepts.js';
import { registerOwnerRoutes } from './routes/owners.js';
import { registerFeedbackRoutes } from './routes/feedback.js';
import { registerJobRoutes } from './routes/jobs.js';
import type { JobQueue } from '../jobs/queue.js';
import type { RemoteRecognizer } from '../library/remote-recognizer.js';

export interface CreateServerOptions extends RuntimeSource {
  db: LibraryDb;
  config?: Partial<ServerConfig>;
  /** Environment for the Pictograph home (media folder, model mirror); defaults to process.env. */
  env?: NodeJS.ProcessEnv;
  /** The job queue: uploads become ingest jobs for workers, and GET /v1/jobs shows progress. */
  queue?: JobQueue;
  /** Model servers: uploads and POST /v1/classify use them instead of the in-process model. */
  modelServers?: RemoteRecognizer;
}

/** Everything route handlers share. */
export interface ServerContext {
  db: LibraryDb;
  config: ServerConfig;
  metrics: ServerMetrics;
  runtime: ModelRuntime;
  env: NodeJS.ProcessEnv;
  /** Where thumbnails and uploaded originals live. */
  mediaDir: string;
  queue?: JobQueue;
  /** Model servers, when configured (else the runtime's in-process model). */
  modelServers?: RemoteRecognizer;
}

declare module 'fastify' {
  interface FastifyInstance {
    pictograph: ServerContext;
  }
  interface FastifyRequest {
    startedAt: bigint;
  }
}

/**
 * Builds the server (not listening yet: call `listen` or use `inject`). With `engine` and `taxonomy` given it is
 * ready at once; with `load` it loads them in the background and `/readyz` answers 503 until then.
 */
export async function createServer(opts: CreateServerOptions): Promise<FastifyInstance> {
  const config = serverConfig(opts.config);
  const env = opts.env ?? process.env;
  const metrics = createMetrics();
  const runtime = new ModelRuntime(opts, config, metrics, env);
  const app = Fastify({
    logger: config.logger,
    bodyLimit: config.maxJsonBytes,
    forceCloseConnections: 'idle',
    return503OnClosing: true,
    ajv: { customOptions: { coerceTypes: 'array', removeAdditional: false, useDefaults: true } },
  });
  const ctx: ServerContext = { db: opts.db, config, metrics, runtime, env, mediaDir: mediaDir(env), queue: opts.queue, modelServers: opts.modelServers };
  app.decorate('pictograph', ctx);
  app.decorateRequest('caller', null as never);
  app.decorateRequest('startedAt', 0n);

  // Bodies: JSON (default parser), raw images, multipart; nothing else (415).
  app.removeContentTypeParser('text/plain');
  const rawImage = (_req: FastifyRequest, body: Buffer, done: (err: Error | null, body?: Buffer) => void) => done(null, body);
  app.addContentTypeParser(/^image\/[\w.+-]+$/i, { parseAs: 'buffer', bodyLimit: config.maxImageBytes }, rawImage);
  app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer', bodyLimit: config.maxImageBytes }, rawImage);
  await app.register(multipart, {
    limits: { fileSize: config.maxImageBytes, files: config.maxUploadFiles, fields: 16, parts: config.maxUploadFiles + 16 },
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Pictograph API',
        version: '0.1.0',
        description:
          'Classify photos with an ImageNet CNN lifted through WordNet, and explore photo libraries by concept. ' +
          'Errors are `{"error": {"code", "message"}}` with stable codes. Send `Authorization: Bearer <token>`.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  app.addHook('onRequest', async (req) => {
    req.startedAt = process.hrtime.bigint();
    req.caller = await resolveCaller(opts.db, req.headers.authorization);
  });
  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    const labels = { method: req.method, route, status: String(reply.statusCode) };
    metrics.requests.inc(labels);
    if (req.startedAt !== 0n) metrics.latency.observe(labels, Number(process.hrtime.bigint() - req.startedAt) / 1e9);
  });

  app.setErrorHandler((err, req, reply) => {
    const apiErr = toApiError(err, config.retryAfterSeconds);
    if (apiErr.statusCode >= 500) req.log.error({ err }, 'request failed');
    else req.log.info({ code: apiErr.code }, 'request refused');
    if (apiErr.code === 'queue_full') metrics.queueRejections.inc({ model: runtime.defaultModelId() ?? 'none' });
    void reply.code(apiErr.statusCode).headers(apiErr.headers).send(errorBody(apiErr));
  });

  // The built web app, if any: static files at `/`, and index.html for any other GET outside the API.
  const webRoot = config.webRoot && existsSync(join(config.webRoot, 'index.html')) ? config.webRoot : null;
  if (webRoot) await app.register(fastifyStatic, { root: webRoot, prefix: '/', wildcard: false, index: ['index.html'] });
  app.setNotFoundHandler((req, reply) => {
    const apiPath = /^\/(v1|healthz|readyz|metrics|openapi\.json|docs)(\/|$|\?)/.test(req.url);
    if (webRoot && req.method === 'GET' && !apiPath) return reply.type('text/html').sendFile('index.html');
    const err = new ApiError(404, 'not_found', `There is no ${req.method} ${req.url.split('?')[0]} in this API.`);
    return reply.code(404).send(errorBody(err));
  });

  registerHealthRoutes(app);
  registerClassifyRoutes(app);
  registerPhotoRoutes(app);
  registerConceptRoutes(app);
  registerOwnerRoutes(app);
  registerFeedbackRoutes(app);
  registerJobRoutes(app);

  // Graceful shutdown: while closing, answers in flight tell keep-alive clients to go, so the server does not
  // wait out their idle timeout; the runtime closes after the last request.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', async (_req, reply) => {
    if (closing) reply.header('connection', 'close');
  });
  app.addHook('onClose', async () => {
    await runtime.close();
  });
  runtime.start(app.log);
  return app;
}
