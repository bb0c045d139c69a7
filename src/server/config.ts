// Settings of the HTTP API server: limits, timeouts, access policy for classification and metrics,
// micro-batching, web assets. Every limit here is documented in README.md and `pictograph serve --help`.
import { join } from 'node:path';
import { projectRoot } from '../config/paths.js';
import { DEFAULT_MAX_PIXELS } from '../vision/decode.js';
import type { AdmissionConfig } from './admission.js';

export type ClassifyAccess = 'open' | 'token';

export interface ServerConfig {
  /** Whether `POST /v1/classify` is open to anonymous callers or needs a token. */
  classifyAccess: ClassifyAccess;
  /** Largest accepted image body (raw or one multipart file), bytes. */
  maxImageBytes: number;
  /** Most pixels one decoded image may have (422 `too_many_pixels` beyond), checked from the header. */
  maxImagePixels: number;
  /** Largest accepted JSON body, bytes. */
  maxJsonBytes: number;
  /** Most files in one upload request. */
  maxUploadFiles: number;
  /** Most non-file fields in one upload request. */
  maxUploadFields: number;
  /** Largest request header block, bytes (431 `headers_too_large` beyond). */
  maxHeaderBytes: number;
  /** Longest path parameter, characters (414 `uri_too_long` beyond). */
  maxParamLength: number;
  /**
   * Timeouts, ms: `headers` to receive the request line and headers, `request` to receive the whole request
   * (headers and body: a client trickling its body is cut off with 408 after this), `idle` without any
   * traffic on a connection, `keepAlive` between requests on a kept-alive connection.
   */
  timeouts: { headersMs: number; requestMs: number; idleMs: number; keepAliveMs: number };
  /** Most open connections; more are refused at once. */
  maxConnections: number;
  /** Feedback answers one caller (token, else client address) may send per minute (429 `rate_limited` beyond). */
  feedbackPerMinute: number;
  /** `/metrics`: open to anyone (aggregate counters only) or admin tokens only. */
  metricsAccess: 'open' | 'admin';
  /** Micro-batching: largest batch, longest wait for companions (ms), most queued requests. */
  batch: { maxBatch: number; maxWaitMs: number; maxQueue: number };
  /**
   * Admission by work: image body bytes and decoded pixels in flight; a request waits at most `maxWaitMs` for
   * room, then gets 429 + Retry-After.
   */
  admission: AdmissionConfig;
  /** Seconds a client is told to wait (Retry-After) when the queue is full or the server at its limits. */
  retryAfterSeconds: number;
  /** Folder of the built web app served at `/` with SPA fallback; null to serve none. */
  webRoot: string | null;
  /** Fastify logger: true (JSON to stdout), false, or pino options. */
  logger: boolean | Record<string, unknown>;
  /** The accuracy target hedged labels are chosen for unless `target=` is given. */
  defaultTarget: number;
}

export const defaultServerConfig: ServerConfig = {
  classifyAccess: 'open',
  maxImageBytes: 32 * 1024 * 1024,
  maxImagePixels: DEFAULT_MAX_PIXELS,
  maxJsonBytes: 64 * 1024,
  maxUploadFiles: 64,
  maxUploadFields: 16,
  maxHeaderBytes: 16 * 1024,
  maxParamLength: 200,
  timeouts: { headersMs: 15_000, requestMs: 120_000, idleMs: 60_000, keepAliveMs: 5_000 },
  maxConnections: 1024,
  feedbackPerMinute: 30,
  metricsAccess: 'open',
  batch: { maxBatch: 16, maxWaitMs: 3, maxQueue: 256 },
  // About 4 camera JPEGs received and 2 decoded at once: enough to keep 2 cores busy, bounded memory (a third
  // decode at once took bench overload's peak RSS over 300 MB).
  // Refused bodies that clients send anyway are read at 16 MiB/s all together (admission.ts, RefusedDrain), and
  // the read buffers of every 8 MiB received are collected young (body-garbage.ts).
  admission: { maxBodyBytes: 24 * 1024 * 1024, maxDecodePixels: 30_000_000, maxWaitMs: 1000, maxUploadDecodeWaitMs: 30_000, refusedDrainBytesPerSecond: 16 * 1024 * 1024, collectEveryBodyBytes: 8 * 1024 * 1024 },
  retryAfterSeconds: 1,
  webRoot: join(projectRoot, 'dist', 'web'),
  logger: false,
  defaultTarget: 0.9,
};

/** Settings as given: any subset, nested groups partial too. */
export type ServerConfigInput = Partial<Omit<ServerConfig, 'batch' | 'timeouts' | 'admission'>> & {
  batch?: Partial<ServerConfig['batch']>;
  timeouts?: Partial<ServerConfig['timeouts']>;
  admission?: Partial<AdmissionConfig>;
};

/** Defaults overlaid with the given partial settings (nested `batch`, `timeouts` and `admission` merged field by field). */
export function serverConfig(partial: ServerConfigInput = {}): ServerConfig {
  return {
    ...defaultServerConfig,
    ...partial,
    batch: { ...defaultServerConfig.batch, ...(partial.batch ?? {}) },
    timeouts: { ...defaultServerConfig.timeouts, ...(partial.timeouts ?? {}) },
    admission: { ...defaultServerConfig.admission, ...(partial.admission ?? {}) },
  };
}

/** Fastify's timeout options for these timeouts (the library and the model server alike). */
export function timeoutOptions(t: ServerConfig['timeouts']) {
  return {
    connectionTimeout: t.idleMs,
    keepAliveTimeout: t.keepAliveMs,
    requestTimeout: t.requestMs,
    http: {
      headersTimeout: t.headersMs,
      // How often Node checks the header and request timeouts (its default, 30 s, would let them overrun).
      connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(Math.min(t.headersMs, t.requestMs) / 4))),
    },
  };
}
