// The HTTP API server: a Fastify app over the photo library and the recognition runtime — error model,
// auth, metrics, OpenAPI, body limits, routes, and the built web app with SPA fallback.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import multipart from '@fastify/multipart';
import fastifyStatic from '@fastify/static';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import type { LibraryDb } from '../library/db.js';
import { mediaDir, similarDir } from '../config/paths.js';
import { SimilarIndex } from '../library/similar-index.js';
import { enforceCsrf, resolveCaller, SESSION_COOKIE } from './auth.js';
import { Admission, admitAtContinue, OverloadedError } from './admission.js';
import { serverConfig, timeoutOptions, type ServerConfig, type ServerConfigInput } from './config.js';
import { ApiError, errorBody, toApiError } from './errors.js';
import {
  checkUrl,
  clientErrorHandler,
  contentSecurityPolicy,
  installExpectContinue,
  settleUnreadBody,
  keepPausedSocketsStopped,
  installJsonParser,
  logSerializers,
  validatorCompiler,
} from './hardening.js';
import { sweepMedia } from '../library/media.js';
import { createMetrics, type ServerMetrics } from './metrics.js';
import { ModelRuntime, type RuntimeSource } from './runtime.js';
import { registerHealthRoutes } from './routes/health.js';
import { registerClassifyRoutes } from './routes/classify.js';
import { registerPhotoRoutes } from './routes/photos.js';
import { registerConceptRoutes } from './routes/concepts.js';
import { registerOwnerRoutes } from './routes/owners.js';
import { registerFeedbackRoutes } from './routes/feedback.js';
import { registerSessionRoutes } from './routes/session.js';
import { registerCustomConceptRoutes } from './routes/custom-concepts.js';
import { registerJobRoutes } from './routes/jobs.js';
import { registerTagRoutes } from './routes/tags.js';
import type { JobQueue } from '../jobs/queue.js';
import type { RemoteRecognizer } from '../library/remote-recognizer.js';
import { registerPeopleRoutes } from './routes/people.js';
import type { FaceDetector } from '../vision/faces/detector.js';

export interface CreateServerOptions extends RuntimeSource {
  db: LibraryDb;
  config?: ServerConfigInput;
  /** Environment for the Pictograph home (media folder, model mirror); defaults to process.env. */
  env?: NodeJS.ProcessEnv;
  /** The job queue: uploads become ingest jobs for workers, and GET /v1/jobs shows progress. */
  queue?: JobQueue;
  /** Model servers: uploads and POST /v1/classify use them instead of the in-process model. */
  modelServers?: RemoteRecognizer;
  /** Face detection for uploads (loaded in the background); absent = off for the whole server (`--no-faces`). */
  faces?: FaceDetector | (() => Promise<FaceDetector>);
}

/** Everything route handlers share. */
export interface ServerContext {
  db: LibraryDb;
  config: ServerConfig;
  metrics: ServerMetrics;
  runtime: ModelRuntime;
  /** Budgets of image body bytes and decoded pixels in flight (429 past them). */
  admission: Admission;
  env: NodeJS.ProcessEnv;
  /** Where thumbnails and uploaded originals live. */
  mediaDir: string;
  /** Similar photos (ANN index per model, saved under the home's `similar/`). */
  similar: SimilarIndex;
  queue?: JobQueue;
  /** Model servers, when configured (else the runtime's in-process model). */
  modelServers?: RemoteRecognizer;
  /**
   * The face detector, loaded on first use (a server that only classifies never starts it); undefined when the
   * server runs with `--no-faces` or the detector could not start.
   */
  faces(): Promise<FaceDetector | undefined>;
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
  const admission = new Admission(config.admission, config.retryAfterSeconds);
  const runtime = new ModelRuntime(opts, config, metrics, env, admission);
  const timeouts = timeoutOptions(config.timeouts);
  const app = Fastify({
    logger: config.logger === false ? false : { ...(config.logger === true ? {} : config.logger), serializers: logSerializers },
    bodyLimit: config.maxJsonBytes,
    forceCloseConnections: 'idle',
    return503OnClosing: true,
    routerOptions: { maxParamLength: config.maxParamLength },
    ...timeouts,
    http: { ...timeouts.http, maxHeaderSize: config.maxHeaderBytes },
    clientErrorHandler,
    frameworkErrors: (err, _req, reply) => {
      const apiErr = toApiError(err);
      void (reply as unknown as FastifyReply).code(apiErr.statusCode).send(errorBody(apiErr));
    },
  });
  // The face models (a worker with its own wasm heap, ~80 MB) load when the first upload needs them.
  let detector: Promise<FaceDetector | undefined> | undefined;
  const faces = (): Promise<FaceDetector | undefined> => {
    if (typeof opts.faces !== 'function') return Promise.resolve(opts.faces);
    detector ??= opts.faces().catch((err: unknown) => {
      app.log.error({ err }, 'face detection could not start: uploads are stored without faces');
      return undefined;
    });
    return detector;
  };
  app.setValidatorCompiler(validatorCompiler);
  // A paused connection stays paused (a Node race would read a waiting request's whole body into memory).
  keepPausedSocketsStopped(app.server);
  // Clients that wait for 100 Continue have classify's body bytes reserved before routing, so refusing the
  // excess costs a few header lines each.
  installExpectContinue(app, {
    admit: (req, res) =>
      req.method === 'POST' && (req.url ?? '').split('?')[0] === '/v1/classify' ? admitAtContinue(admission, req, res, config.maxImageBytes) : undefined,
    refused: (req, status) => metrics.requests.inc({ method: req.method ?? 'POST', route: '/v1/classify', status: String(status) }),
  });
  app.server.maxConnections = config.maxConnections;
  const ctx: ServerContext = {
    db: opts.db,
    config,
    metrics,
    runtime,
    admission,
    env,
    mediaDir: mediaDir(env),
    similar: new SimilarIndex(opts.db, { dir: similarDir(env) }),
    queue: opts.queue,
    modelServers: opts.modelServers,
    faces,
  };
  app.decorate('pictograph', ctx);
  app.decorateRequest('caller', null as never);
  app.decorateRequest('startedAt', 0n);

  // Bodies: JSON (strict UTF-8, no NUL), raw images, multipart; nothing else (415).
  app.removeContentTypeParser('text/plain');
  installJsonParser(app);
  const rawImage = (_req: FastifyRequest, body: Buffer, done: (err: Error | null, body?: Buffer) => void) => done(null, body);
  const IMAGE_TYPE = /^image\/[\w.+-]+$/i;
  app.addContentTypeParser(IMAGE_TYPE, { parseAs: 'buffer', bodyLimit: config.maxImageBytes }, rawImage);
  app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer', bodyLimit: config.maxImageBytes }, rawImage);
  await app.register(multipart, {
    limits: {
      fileSize: config.maxImageBytes,
      files: config.maxUploadFiles,
      fields: config.maxUploadFields,
      parts: config.maxUploadFiles + config.maxUploadFields,
      headerPairs: 32,
      fieldSize: 64 * 1024,
    },
  });
  // Security headers on every answer; the CSP matters for the web app (its own scripts, styles and API only).
  await app.register(helmet, { contentSecurityPolicy, crossOriginEmbedderPolicy: false });
  // Rate limits are per route (feedback); callers are told when to come back.
  await app.register(rateLimit, { global: false });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Pictograph API',
        version: '0.1.0',
        description:
          'Classify photos with an ImageNet CNN lifted through WordNet, and explore photo libraries by concept. ' +
          'Errors are `{"error": {"code", "message"}}` with stable codes. Send `Authorization: Bearer <token>`; ' +
          'browsers sign in with `POST /v1/session` and carry an HttpOnly session cookie instead.\n\n' +
          `Limits (see \`pictograph serve --help\`): JSON bodies ${config.maxJsonBytes} bytes, images ${config.maxImageBytes} bytes ` +
          `(raw body or each multipart file), ${config.maxUploadFiles} files and ${config.maxUploadFields} other fields per upload ` +
          `(413 \`payload_too_large\`); ${config.maxImagePixels / 1e6} megapixels per image (422 \`too_many_pixels\`); headers ` +
          `${config.maxHeaderBytes} bytes (431 \`headers_too_large\`); path parameters ${config.maxParamLength} characters ` +
          `(414 \`uri_too_long\`); headers within ${config.timeouts.headersMs / 1000} s and the whole request within ` +
          `${config.timeouts.requestMs / 1000} s (408 \`request_timeout\`); ${config.feedbackPerMinute} feedback answers per caller ` +
          'per minute (429 `rate_limited`); a full inference queue 429 `queue_full`; a full disk 507 `storage_full`. ' +
          'Malformed input: `bad_url`, `bad_encoding` (NUL, invalid UTF-8), `bad_multipart`, `bad_json`, `bad_request` ' +
          '(JSON bodies are not coerced: `"true"` is not a boolean).',
      },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer' },
          session: { type: 'apiKey', in: 'cookie', name: SESSION_COOKIE },
        },
      },
    },
  });
  // The API docs page gets Swagger UI's own policy (hashes of its inline scripts), with inline styles allowed
  // (Swagger UI sets some), never framed, and no upgrade to https on a plain-http local server.
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    staticCSP: true,
    transformStaticCSP: (header: string) =>
      header
        .replace(/style-src 'self' https:/, "style-src 'self' 'unsafe-inline'")
        .replace(/frame-ancestors 'self'/, "frame-ancestors 'none'")
        .replace(/\s*upgrade-insecure-requests;?/, ''),
  });

  app.addHook('onRequest', async (req) => {
    req.startedAt = process.hrtime.bigint();
    checkUrl(req.url);
    req.caller = await resolveCaller(opts.db, req);
    enforceCsrf(req);
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
    if (apiErr instanceof OverloadedError) metrics.admissionRejections.inc({ budget: apiErr.budget });
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
  // Classify receives a raw image body itself, streamed to a temporary file (routes/classify.ts): its parser
  // hands the body over unread, so a whole body never sits in memory.
  await app.register(async (scoped) => {
    scoped.removeContentTypeParser([IMAGE_TYPE, 'application/octet-stream']);
    const unread = (_req: FastifyRequest, payload: NodeJS.ReadableStream, done: (err: Error | null, body?: unknown) => void) => done(null, payload);
    scoped.addContentTypeParser(IMAGE_TYPE, unread);
    scoped.addContentTypeParser('application/octet-stream', unread);
    registerClassifyRoutes(scoped);
  });
  registerPhotoRoutes(app);
  registerConceptRoutes(app);
  registerOwnerRoutes(app);
  registerFeedbackRoutes(app);
  registerSessionRoutes(app);
  registerCustomConceptRoutes(app);
  registerJobRoutes(app);
  registerTagRoutes(app);
  registerPeopleRoutes(app);

  // Graceful shutdown: while closing, answers in flight tell keep-alive clients to go, so the server does not
  // wait out their idle timeout; the runtime closes after the last request.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', async (req, reply) => {
    if (closing) reply.header('connection', 'close');
    // Refused before its body was read: drain the rest so the client reads this answer rather than a reset
    // (the connection stays open for that: closing it would cut the client off mid-write); a client waiting for
    // 100 Continue never sends it, and its connection closes after the answer.
    // A 429's body is read at the shared pace of refused bodies (admission.ts, RefusedDrain).
    if (reply.statusCode >= 400) {
      const pace = reply.statusCode === 429 ? admission.refusedDrain : undefined;
      settleUnreadBody(req.raw, reply.raw, 2 * config.maxImageBytes, { pace, garbage: admission.bodyGarbage });
    }
  });
  app.addHook('onClose', async () => {
    await runtime.close();
    if (typeof opts.faces === 'function') await (await detector)?.close();
  });
  // Temporary files of uploads and thumbnails left by an earlier run (kill -9, crash) are removed, or moved into
  // place when a committed photo already references them.
  const swept = await sweepMedia(opts.db, ctx.mediaDir);
  if (swept.removed + swept.completed > 0) app.log.info(swept, 'swept temporary media files of an earlier run');
  runtime.start(app.log);
  return app;
}
