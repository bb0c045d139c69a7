// The model server role (`pictograph serve --role model`): classification only, stateless, no database.
// POST /v1/analyze answers the PhotoAnalysis the library stores (what workers and the library server call);
// POST /v1/classify answers like the library server's. /readyz names the model (id + sha256) and turns 503
// while draining; work in flight finishes. The admin routes drain it and swap its model for a rollout; a
// model that fails to load leaves the old one serving. Image requests are admitted by work as on the library
// server (admission.ts): body bytes before the body is read, decoded pixels before the decode; past the limits 429
// with Retry-After, which the library's model-server client waits out (remote-recognizer.ts). Bodies stream to
// temporary files under media/tmp/, as the library server's classify does.
import { timingSafeEqual } from 'node:crypto';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { hostname } from 'node:os';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { Admission, admitAtContinue, admitBody, type AdmissionConfig } from './admission.js';
import { defaultServerConfig, timeoutOptions, type ServerConfig } from './config.js';
import { clientErrorHandler, installExpectContinue, keepPausedSocketsStopped, settleUnreadBody } from './hardening.js';
import { analyzePrediction, loadTaxonomy, type Taxonomy } from '../taxonomy/analysis.js';
import { MicroBatcher } from '../vision/batcher.js';
import { decodePhoto } from '../vision/decode.js';
import { Engine, type Prediction } from '../vision/engine.js';
import type { Head } from '../concepts/head.js';
import { loadEverydayHead, tagEmbedding } from '../concepts/tags.js';
import type { PhotoAnalysis } from '../library/analysis.js';
import { analysisToWire } from '../library/remote-recognizer.js';
import { sweepTemporaryFolder } from '../library/media.js';
import { mediaDir } from '../config/paths.js';
import { ApiError, errorBody, toApiError } from './errors.js';
import { receiveRawImage } from './uploads.js';
import { classificationOf } from './runtime.js';

export type ModelServerState = 'loading' | 'ready' | 'draining' | 'reloading' | 'failed';

export interface LoadedModel {
  engine: Engine;
  taxonomy: Taxonomy;
  /** Everyday-tag heads for this model (as the in-process recognizer loads them). */
  heads?: readonly Head[];
}

export interface ModelServerOptions {
  /** Model to serve at start (default: the library default). */
  modelId?: string;
  /** Loads a model and its taxonomy (default: Engine.load + loadTaxonomy). */
  load?: (modelId: string | undefined) => Promise<LoadedModel>;
  env?: NodeJS.ProcessEnv;
  /** Token for the /admin routes; without one they answer loopback callers only. */
  adminToken?: string;
  batch?: { maxBatch?: number; maxWaitMs?: number; maxQueue?: number };
  maxImageBytes?: number;
  /** Most pixels in one image, from its header (default: the library server's). */
  maxImagePixels?: number;
  /** Work in flight (body bytes, decoded pixels), merged over the library server's defaults. */
  admission?: Partial<AdmissionConfig>;
  /** Request and connection timeouts, merged over the library server's defaults. */
  timeouts?: Partial<ServerConfig['timeouts']>;
  maxConnections?: number;
  logger?: boolean | Record<string, unknown>;
}

interface Serving {
  model: LoadedModel;
  batcher: MicroBatcher;
}

/** The model behind the server, its state and the requests in flight. */
export class ModelHost {
  state: ModelServerState = 'loading';
  inflight = 0;
  lastError: string | null = null;
  private serving: Serving | null = null;
  private idleWaiters: Array<() => void> = [];

  /** Body bytes and decoded pixels in flight. */
  readonly admission: Admission;

  constructor(
    private readonly opts: ModelServerOptions,
    private readonly loader: (modelId: string | undefined) => Promise<LoadedModel>,
  ) {
    this.admission = new Admission({ ...defaultServerConfig.admission, ...opts.admission }, defaultServerConfig.retryAfterSeconds);
  }

  /** The one decode of a request's photo, within the pixel budget. */
  private decode(input: string | Buffer, model: LoadedModel) {
    return decodePhoto(input, model.engine.model.spec, {
      maxBytes: this.opts.maxImageBytes,
      maxPixels: this.opts.maxImagePixels ?? defaultServerConfig.maxImagePixels,
      admit: this.admission.decodeGate(),
    });
  }

  private serve(model: LoadedModel): Serving {
    const b = this.opts.batch ?? {};
    return { model, batcher: new MicroBatcher(model.engine, { maxBatch: b.maxBatch ?? 16, maxWaitMs: b.maxWaitMs ?? 3, maxQueue: b.maxQueue ?? 256 }) };
  }

  async start(modelId: string | undefined): Promise<void> {
    try {
      this.serving = this.serve(await this.loader(modelId));
      this.state = 'ready';
    } catch (err) {
      this.lastError = (err as Error).message;
      this.state = 'failed';
    }
  }

  model(): { id: string; sha256: string } | null {
    const e = this.serving?.model.engine;
    return e ? { id: e.model.id, sha256: e.model.sha256 } : null;
  }

  /** Runs `fn` as a request in flight, or refuses with 503 unless ready. */
  async admit<T>(fn: (s: Serving) => Promise<T>): Promise<T> {
    if (this.state !== 'ready' || !this.serving) {
      const code = this.state === 'draining' || this.state === 'reloading' ? 'draining' : 'not_ready';
      throw new ApiError(503, code, `This model server is ${this.state}; another one will answer.`, { 'retry-after': '1' });
    }
    const s = this.serving;
    this.inflight++;
    try {
      return await fn(s);
    } finally {
      this.inflight--;
      if (this.inflight === 0) for (const w of this.idleWaiters.splice(0)) w();
    }
  }

  /** Stops admitting requests (readyz 503); requests in flight go on. */
  drain(): void {
    if (this.state === 'ready') this.state = 'draining';
  }

  resume(): void {
    if (this.state === 'draining' && this.serving) this.state = 'ready';
  }

  /** Resolves when no request is in flight. */
  idle(): Promise<void> {
    return this.inflight === 0 ? Promise.resolve() : new Promise((r) => this.idleWaiters.push(r));
  }

  /**
   * Drains, waits for the requests in flight, loads `modelId` and serves it. If it fails to load, the old model
   * serves again and the error is thrown (and shown on /readyz).
   */
  async reload(modelId: string): Promise<void> {
    if (this.state === 'reloading') throw new ApiError(409, 'busy', 'A model change is already under way.');
    this.drain();
    await this.idle();
    const old = this.serving;
    this.state = 'reloading';
    try {
      const next = this.serve(await this.loader(modelId));
      this.serving = next;
      this.lastError = null;
      this.state = 'ready';
      if (old) {
        await old.batcher.drain();
        await old.model.engine.close();
      }
    } catch (err) {
      this.lastError = `model ${modelId} failed to load: ${(err as Error).message}`;
      this.state = old ? 'ready' : 'failed';
      throw new ApiError(422, 'model_load_failed', this.lastError);
    }
  }

  /** `input`: the photo's bytes, or the file they were received into. */
  async analyze(input: string | Buffer): Promise<PhotoAnalysis> {
    return this.admit(async ({ model, batcher }) => {
      const { engine, taxonomy } = model;
      const decoded = await this.decode(input, model);
      const prediction = await batcher.submit(decoded.tensor);
      // Exactly what the in-process recognizer computes (library/recognizer.ts).
      return {
        ...analyzePrediction(prediction, { ...taxonomy, top: 5, model: { id: engine.model.id, sha256: engine.model.sha256 } }),
        tags: tagsOf(model, prediction),
      };
    });
  }

  async classify(input: string | Buffer, top: number) {
    return this.admit(async ({ model, batcher }) => {
      const { engine, taxonomy } = model;
      const decoded = await this.decode(input, model);
      const prediction = await batcher.submit(decoded.tensor);
      const analysis = analyzePrediction(prediction, { ...taxonomy, top });
      return classificationOf(engine.model, analysis, taxonomy, tagsOf(model, prediction));
    });
  }

  async close(): Promise<void> {
    this.drain();
    await this.idle();
    const s = this.serving;
    this.serving = null;
    if (s) {
      await s.batcher.drain();
      await s.model.engine.close();
    }
  }
}

function tagsOf(model: LoadedModel, prediction: Prediction): Array<{ id: string; name: string; score: number }> {
  return tagEmbedding(model.heads ?? [], prediction.embedding, prediction.model).map(({ id, name, score }) => ({ id, name, score }));
}

/** The default loader: the model from cache / mirror / download, and its taxonomy. */
export function defaultModelLoader(env: NodeJS.ProcessEnv, opts: { threads?: number; target?: number } = {}) {
  return async (modelId: string | undefined): Promise<LoadedModel> => {
    const engine = await Engine.load({ modelId, env, threads: opts.threads });
    try {
      const taxonomy = await loadTaxonomy({ modelId: engine.model.id, target: opts.target, env });
      const everyday = await loadEverydayHead(engine.model);
      return { engine, taxonomy, heads: everyday ? [everyday] : [] };
    } catch (err) {
      await engine.close();
      throw err;
    }
  };
}

function sameToken(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Builds the model server (not listening yet); the model loads in the background. */
export async function createModelServer(opts: ModelServerOptions = {}): Promise<{ app: FastifyInstance; host: ModelHost }> {
  const env = opts.env ?? process.env;
  const host = new ModelHost(opts, opts.load ?? defaultModelLoader(env));
  const maxImageBytes = opts.maxImageBytes ?? defaultServerConfig.maxImageBytes;
  const { admission } = host;
  const app = Fastify({
    logger: opts.logger ?? false,
    bodyLimit: 64 * 1024,
    forceCloseConnections: 'idle',
    return503OnClosing: true,
    ...timeoutOptions({ ...defaultServerConfig.timeouts, ...opts.timeouts }),
    clientErrorHandler,
  });
  app.server.maxConnections = opts.maxConnections ?? defaultServerConfig.maxConnections;
  // The image routes' body bytes are reserved before the body is read (a refused request costs no memory); clients
  // that wait for 100 Continue are admitted before routing (hardening.ts).
  const imageRoute = (req: { method?: string; url?: string }) => req.method === 'POST' && ['/v1/analyze', '/v1/classify'].includes((req.url ?? '').split('?')[0]!);
  keepPausedSocketsStopped(app.server);
  installExpectContinue(app, {
    admit: (req, res) => (imageRoute(req) ? admitAtContinue(admission, req, res, maxImageBytes) : undefined),
    refused: () => undefined,
  });
  // Image bodies are handed over unread and streamed to a temporary file as on the library server
  // (uploads.ts), so no whole body sits in memory; left-overs of a process that died are removed at start.
  const receiver = { tmpDir: join(mediaDir(env), 'tmp'), maxImageBytes, garbage: admission.bodyGarbage };
  await sweepTemporaryFolder(receiver.tmpDir);
  const unread = (_req: FastifyRequest, payload: Readable, done: (err: Error | null, body?: unknown) => void) => done(null, payload);
  app.addContentTypeParser(/^image\/[\w.+-]+$/i, unread);
  app.addContentTypeParser('application/octet-stream', unread);
  app.setErrorHandler((err, _req, reply) => {
    const e = toApiError(err, 1);
    void reply.code(e.statusCode).headers(e.headers).send(errorBody(e));
  });
  app.setNotFoundHandler((req, reply) => {
    void reply.code(404).send(errorBody(new ApiError(404, 'not_found', `There is no ${req.method} ${req.url.split('?')[0]} on a model server.`)));
  });

  /** Receives the request's image, runs `work` on it and removes it. */
  const withImage = async <T>(req: FastifyRequest, work: (input: string | Buffer) => Promise<T>): Promise<T> => {
    const image = await receiveRawImage(receiver, req);
    if (!image) throw new ApiError(400, 'empty_body', 'Send the image as the request body (image/* or application/octet-stream).');
    try {
      return await work(image.input);
    } finally {
      await image.discard();
    }
  };
  const admin = (req: FastifyRequest): void => {
    if (opts.adminToken) {
      const auth = req.headers.authorization ?? '';
      if (!auth.startsWith('Bearer ') || !sameToken(auth.slice(7), opts.adminToken)) throw new ApiError(401, 'unauthorized', 'The admin routes need the admin token.');
    } else if (!['127.0.0.1', '::1', '::ffff:127.0.0.1'].includes(req.socket.remoteAddress ?? '')) {
      throw new ApiError(403, 'forbidden', 'Without --admin-token the admin routes answer local callers only.');
    }
  };
  const status = () => ({
    ready: host.state === 'ready',
    role: 'model',
    state: host.state,
    model: host.model(),
    inflight: host.inflight,
    // work in flight against its limits, and how many requests each limit refused (429)
    admission: { bytes: host.admission.bytes.stats, pixels: host.admission.pixels.stats },
    ...(host.lastError ? { error: host.lastError } : {}),
  });

  app.get('/healthz', async () => ({ ok: true }));
  app.get('/readyz', async (_req, reply: FastifyReply) => reply.code(host.state === 'ready' ? 200 : 503).send(status()));
  const admitted = { onRequest: admitBody(admission, maxImageBytes) };
  app.post('/v1/analyze', admitted, async (req) => analysisToWire(await withImage(req, (input) => host.analyze(input))));
  app.post<{ Querystring: { top?: string } }>('/v1/classify', admitted, async (req) => {
    const top = req.query.top === undefined ? 5 : Number(req.query.top);
    if (!Number.isInteger(top) || top < 1 || top > 100) throw new ApiError(400, 'bad_request', '`top` must be an integer from 1 to 100.');
    return withImage(req, (input) => host.classify(input, top));
  });
  app.post('/admin/drain', async (req) => {
    admin(req);
    host.drain();
    return status();
  });
  app.post('/admin/resume', async (req) => {
    admin(req);
    host.resume();
    return status();
  });
  app.post<{ Body: { model?: unknown } }>('/admin/model', async (req) => {
    admin(req);
    const id = req.body?.model;
    if (typeof id !== 'string' || !/^[\w.-]{1,100}$/.test(id)) throw new ApiError(400, 'bad_request', 'Send {"model": "<model id>"}.');
    await host.reload(id);
    return status();
  });

  let closing = false;
  app.addHook('onSend', async (req, reply) => {
    // Which server answered (behind a balancer): host name and port.
    reply.header('x-served-by', `${hostname()}:${req.socket?.localPort ?? ''}`);
    if (closing) reply.header('connection', 'close');
    // Answered before its body was read (429, 413): the rest is drained, a 429's at the shared refused pace.
    if (reply.statusCode >= 400) {
      settleUnreadBody(req.raw, reply.raw, 2 * maxImageBytes, { pace: reply.statusCode === 429 ? admission.refusedDrain : undefined, garbage: admission.bodyGarbage });
    }
  });
  app.addHook('preClose', async () => {
    closing = true;
    host.drain();
    await host.idle();
  });
  app.addHook('onClose', async () => {
    await host.close();
  });
  void host.start(opts.modelId);
  return { app, host };
}
