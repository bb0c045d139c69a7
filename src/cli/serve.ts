// `pictograph serve`: the HTTP API (and the built web app) over the library, with the model loaded in the
// background (readyz 503 until then) and a graceful shutdown on SIGINT/SIGTERM.
import type { Command } from 'commander';
import { openLibrary } from '../library/db.js';
import { createServer } from '../server/app.js';
import { createModelServer, defaultModelLoader } from '../server/model-server.js';
import { JobQueue, queueOptionsFromEnv } from '../jobs/queue.js';
import { modelServersFromEnv, remoteRecognizer } from '../library/remote-recognizer.js';
import { defaultServerConfig, serverConfig, type ClassifyAccess, type ServerConfig } from '../server/config.js';
import { FaceDetector } from '../vision/faces/detector.js';
import { loadTaxonomy } from '../taxonomy/analysis.js';
import { Engine } from '../vision/engine.js';

export interface ServeOptions {
  port: string;
  host: string;
  openClassify?: boolean;
  tokenClassify?: boolean;
  model?: string;
  target?: string;
  maxQueue?: string;
  maxBatch?: string;
  maxBodyMb?: string;
  maxDecodeMp?: string;
  maxWaitMs?: string;
  refusedDrainMb?: string;
  collectEveryMb?: string;
  threads?: string;
  web?: string | false;
  logLevel: string;
  maxUploadBytes?: string;
  maxUploadFiles?: string;
  maxImageMp?: string;
  maxJsonBytes?: string;
  headersTimeout?: string;
  requestTimeout?: string;
  idleTimeout?: string;
  maxConnections?: string;
  feedbackPerMinute?: string;
  privateMetrics?: boolean;
  role?: string;
  adminToken?: string;
  queue?: boolean;
  /** commander's `--no-faces`: false = no face detection on this server. */
  faces?: boolean;
}

const MiB = 1024 * 1024;
const MP = 1_000_000;
const d = defaultServerConfig;

/** The limits `serve` enforces, for `--help` (kept in step with README.md and the OpenAPI description). */
export const LIMITS_HELP = [
  '',
  'Limits (errors in the API shape {"error": {"code", "message"}}):',
  ...[
    ['JSON body', `${d.maxJsonBytes / 1024} KiB (--max-json-bytes)`, '413 payload_too_large'],
    ['one image (raw body or file)', `${d.maxImageBytes / MiB} MiB (--max-upload-bytes)`, '413 payload_too_large'],
    ['files / fields per upload', `${d.maxUploadFiles} / ${d.maxUploadFields} (--max-upload-files)`, '413 payload_too_large'],
    ['pixels per image', `${d.maxImagePixels / 1e6} megapixels (--max-image-mp)`, '422 too_many_pixels'],
    ['request headers', `${d.maxHeaderBytes / 1024} KiB`, '431 headers_too_large'],
    ['path parameter', `${d.maxParamLength} characters`, '414 uri_too_long'],
    ['headers received within', `${d.timeouts.headersMs / 1000} s (--headers-timeout)`, '408 request_timeout'],
    ['whole request within', `${d.timeouts.requestMs / 1000} s (--request-timeout)`, '408 request_timeout'],
    ['silent connection closed after', `${d.timeouts.idleMs / 1000} s (--idle-timeout)`, ''],
    ['open connections', `${d.maxConnections} (--max-connections)`, 'refused'],
    ['feedback per caller', `${d.feedbackPerMinute}/minute (--feedback-per-minute)`, '429 rate_limited'],
    ['inference queue', '256 images (--max-queue)', '429 queue_full'],
    ['disk full', '', '507 storage_full'],
  ].map(([what, limit, answer]) => `  ${what!.padEnd(31)}${limit!.padEnd(40)}${answer}`),
  '',
].join('\n');

export function register(program: Command): void {
  program
    .command('serve')
    .description('serve the HTTP API (and the web app when built) on the library database')
    .option('--port <n>', 'TCP port (0 = any free port)', '8080')
    .option('--host <addr>', 'address to listen on', '127.0.0.1')
    .option('--open-classify', 'POST /v1/classify open to anonymous callers (default)')
    .option('--token-classify', 'POST /v1/classify needs a token')
    .option('--model <id>', 'model to load (default: mobilenetv2-12-int8)')
    .option('--target <p>', 'accuracy target of hedged labels', '0.9')
    .option('--max-queue <n>', 'most images waiting for inference before 429', '256')
    .option('--max-batch <n>', 'largest inference batch', '16')
    .option('--max-body-mb <n>', 'MiB of image request bodies in flight before 429', String(d.admission.maxBodyBytes / MiB))
    .option('--max-decode-mp <n>', 'megapixels being decoded at once before 429 (the default: two 12-15 MP camera photos)', String(d.admission.maxDecodePixels / MP))
    .option('--max-wait-ms <n>', 'longest wait for room under those limits before 429', '1000')
    .option('--refused-drain-mb <n>', 'MiB per second read (all together) from the bodies of requests refused with 429 that clients send anyway', String(d.admission.refusedDrainBytesPerSecond / MiB))
    .option('--collect-every-mb <n>', 'MiB of request bodies received between two young-generation collections, which free their read buffers (0: leave it to V8)', String(d.admission.collectEveryBodyBytes / MiB))
    .option('--threads <n>', 'inference threads (default: all cores)')
    .option('--web <dir>', 'folder of the built web app (default: dist/web when present)')
    .option('--no-web', 'serve the API only')
    .option('--no-faces', 'no face detection on this server (uploads store no faces)')
    .option('--log-level <level>', 'log level (fatal, error, warn, info, debug)', 'info')
    .option('--max-upload-bytes <n>', 'largest image (raw body or one uploaded file), bytes', String(d.maxImageBytes))
    .option('--max-image-mp <n>', 'most megapixels in one image (checked from its header, before decoding)', String(d.maxImagePixels / 1e6))
    .option('--max-upload-files <n>', 'most files in one upload request', String(d.maxUploadFiles))
    .option('--max-json-bytes <n>', 'largest JSON body, bytes', String(d.maxJsonBytes))
    .option('--headers-timeout <s>', 'seconds to receive a request\'s headers', String(d.timeouts.headersMs / 1000))
    .option('--request-timeout <s>', 'seconds to receive a whole request, body included (slow clients are cut off)', String(d.timeouts.requestMs / 1000))
    .option('--idle-timeout <s>', 'seconds a connection may stay silent', String(d.timeouts.idleMs / 1000))
    .option('--max-connections <n>', 'most open connections', String(d.maxConnections))
    .option('--feedback-per-minute <n>', 'feedback answers one caller may send per minute', String(d.feedbackPerMinute))
    .option('--private-metrics', '/metrics for admin tokens only (default: open, aggregate counters only)')
    .addHelpText('after', LIMITS_HELP)
    .option('--queue', 'library role: uploads become jobs for `pictograph worker`s (needs DATABASE_URL); GET /v1/jobs shows progress')
    .option('--role <role>', 'library (API + web app on the database) or model (classification only, no database)', 'library')
    .option('--admin-token <token>', 'model role: token for /admin (drain, model change); default PICTOGRAPH_ADMIN_TOKEN, else loopback only')
    .action(async (opts: ServeOptions) => {
      if (opts.role === 'model') await serveModel(opts);
      else if (opts.role === undefined || opts.role === 'library') await serve(opts);
      else throw new Error('--role must be library or model');
    });
}

/**
 * Starts the API (and web app) as `pictograph serve` does and resolves to its address once it listens; used by `serve` and
 * by `up`. SIGINT/SIGTERM close it gracefully (requests in flight finish) and exit the process.
 */
export async function serve(opts: ServeOptions): Promise<string> {
  if (opts.openClassify && opts.tokenClassify) throw new Error('choose one of --open-classify and --token-classify');
  const port = parseIntOption('--port', opts.port, 0, 65535);
  const target = Number(opts.target);
  if (!(target > 0 && target < 1)) throw new Error('--target must be between 0 and 1 (e.g. 0.9)');
  const classifyAccess: ClassifyAccess = opts.tokenClassify ? 'token' : 'open';
  const env = process.env;
  const lib = await openLibrary({ env });
  const threads = opts.threads !== undefined ? parseIntOption('--threads', opts.threads, 1, 1024) : undefined;
  const config = serverConfigFrom(opts, { classifyAccess, defaultTarget: target });
  const queueOptions = opts.queue ? queueOptionsFromEnv(env) : undefined;
  if (opts.queue && !queueOptions) throw new Error('--queue needs PostgreSQL: set DATABASE_URL');
  const queue = queueOptions ? await JobQueue.open(queueOptions) : undefined;
  const servers = modelServersFromEnv(env);
  const modelServers = servers.length > 0 ? await remoteRecognizer({ urls: servers, maxBytes: config.maxImageBytes }) : undefined;
  const app = await createServer({
    db: lib.db,
    env,
    config,
    queue,
    modelServers,
    faces: opts.faces === false ? undefined : () => FaceDetector.load({ maxQueue: 8 }),
    load: async () => {
      const engine = await Engine.load({ modelId: opts.model, env, threads });
      const taxonomy = await loadTaxonomy({ modelId: engine.model.id, target, env });
      return { engine, taxonomy };
    },
  });
  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    app.log.info({ signal }, 'shutting down: finishing requests in flight');
    app
      .close()
      .then(() => queue?.close())
      .then(() => lib.close())
      .then(
        () => process.exit(0),
        (err: unknown) => {
          app.log.error({ err }, 'shutdown failed');
          process.exit(1);
        },
      );
  };
  process.once('SIGINT', () => shutdown('SIGINT'));
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  const address = await app.listen({ port, host: opts.host });
  app.log.info({ database: lib.dialect, classify: classifyAccess, queue: Boolean(queue), modelServers: servers }, 'pictograph API listening; the model loads in the background');
  return address;
}

/**
 * `serve --role model`: classification only (POST /v1/analyze, /v1/classify), no database, admitted by work with
 * the library server's limits and options. SIGTERM drains it (readyz 503), lets requests in flight finish, then exits.
 */
export async function serveModel(opts: ServeOptions): Promise<string> {
  const port = parseIntOption('--port', opts.port, 0, 65535);
  const target = Number(opts.target);
  if (!(target > 0 && target < 1)) throw new Error('--target must be between 0 and 1 (e.g. 0.9)');
  const env = process.env;
  const threads = opts.threads !== undefined ? parseIntOption('--threads', opts.threads, 1, 1024) : undefined;
  const config = serverConfigFrom(opts);
  const { app } = await createModelServer({
    modelId: opts.model ?? env.PICTOGRAPH_MODEL,
    env,
    load: defaultModelLoader(env, { threads, target }),
    adminToken: opts.adminToken ?? (env.PICTOGRAPH_ADMIN_TOKEN || undefined),
    batch: config.batch,
    maxImageBytes: config.maxImageBytes,
    maxImagePixels: config.maxImagePixels,
    admission: config.admission,
    timeouts: config.timeouts,
    maxConnections: config.maxConnections,
    logger: { level: opts.logLevel },
  });
  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    app.log.info({ signal }, 'draining: finishing requests in flight');
    app.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', () => shutdown('SIGINT'));
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  const address = await app.listen({ port, host: opts.host });
  app.log.info('pictograph model server listening; the model loads in the background');
  return address;
}

/** The server settings the options give (every role reads the ones it has: the model role no web app or JSON). */
function serverConfigFrom(opts: ServeOptions, base: Partial<ServerConfig> = {}): ServerConfig {
  return serverConfig({
    ...base,
    batch: {
      maxQueue: parseIntOption('--max-queue', opts.maxQueue ?? '256', 1, 100000),
      maxBatch: parseIntOption('--max-batch', opts.maxBatch ?? '16', 1, 256),
      maxWaitMs: 3,
    },
    admission: {
      maxBodyBytes: parseIntOption('--max-body-mb', opts.maxBodyMb ?? String(d.admission.maxBodyBytes / MiB), 1, 100000) * MiB,
      maxDecodePixels: parseIntOption('--max-decode-mp', opts.maxDecodeMp ?? String(d.admission.maxDecodePixels / MP), 1, 100000) * MP,
      maxWaitMs: parseIntOption('--max-wait-ms', opts.maxWaitMs ?? '1000', 0, 600000),
      refusedDrainBytesPerSecond: parseIntOption('--refused-drain-mb', opts.refusedDrainMb ?? String(d.admission.refusedDrainBytesPerSecond / MiB), 1, 100000) * MiB,
      collectEveryBodyBytes: parseIntOption('--collect-every-mb', opts.collectEveryMb ?? String(d.admission.collectEveryBodyBytes / MiB), 0, 100000) * MiB,
    },
    logger: { level: opts.logLevel },
    maxImageBytes: parseIntOption('--max-upload-bytes', opts.maxUploadBytes ?? String(d.maxImageBytes), 1024, 2 ** 31),
    maxImagePixels: parseIntOption('--max-image-mp', opts.maxImageMp ?? String(d.maxImagePixels / 1e6), 1, 10_000) * 1_000_000,
    maxUploadFiles: parseIntOption('--max-upload-files', opts.maxUploadFiles ?? String(d.maxUploadFiles), 1, 10000),
    maxJsonBytes: parseIntOption('--max-json-bytes', opts.maxJsonBytes ?? String(d.maxJsonBytes), 1024, 64 * MiB),
    timeouts: {
      headersMs: parseSeconds('--headers-timeout', opts.headersTimeout ?? String(d.timeouts.headersMs / 1000)),
      requestMs: parseSeconds('--request-timeout', opts.requestTimeout ?? String(d.timeouts.requestMs / 1000)),
      idleMs: parseSeconds('--idle-timeout', opts.idleTimeout ?? String(d.timeouts.idleMs / 1000)),
    },
    maxConnections: parseIntOption('--max-connections', opts.maxConnections ?? String(d.maxConnections), 1, 1_000_000),
    feedbackPerMinute: parseIntOption('--feedback-per-minute', opts.feedbackPerMinute ?? String(d.feedbackPerMinute), 1, 1_000_000),
    metricsAccess: opts.privateMetrics ? 'admin' : 'open',
    ...(opts.web === false ? { webRoot: null } : typeof opts.web === 'string' ? { webRoot: opts.web } : {}),
  });
}

function parseSeconds(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || n > 86400) throw new Error(`${name} must be a number of seconds from 0.001 to 86400`);
  return Math.round(n * 1000);
}

function parseIntOption(name: string, value: string, min: number, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${name} must be an integer from ${min} to ${max}`);
  return n;
}
