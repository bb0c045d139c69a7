// Settings of the HTTP API server: limits, access policy for classification, micro-batching, web assets.
import { join } from 'node:path';
import { projectRoot } from '../config/paths.js';

export type ClassifyAccess = 'open' | 'token';

export interface ServerConfig {
  /** Whether `POST /v1/classify` is open to anonymous callers or needs a token. */
  classifyAccess: ClassifyAccess;
  /** Largest accepted image body (raw or one multipart file), bytes. */
  maxImageBytes: number;
  /** Largest accepted JSON body, bytes. */
  maxJsonBytes: number;
  /** Most files in one upload request. */
  maxUploadFiles: number;
  /** Micro-batching: largest batch, longest wait for companions (ms), most queued requests. */
  batch: { maxBatch: number; maxWaitMs: number; maxQueue: number };
  /** Seconds a client is told to wait (Retry-After) when the queue is full. */
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
  maxJsonBytes: 64 * 1024,
  maxUploadFiles: 64,
  batch: { maxBatch: 16, maxWaitMs: 3, maxQueue: 256 },
  retryAfterSeconds: 1,
  webRoot: join(projectRoot, 'dist', 'web'),
  logger: false,
  defaultTarget: 0.9,
};

/** Defaults overlaid with the given partial settings (nested `batch` merged field by field). */
export function serverConfig(partial: Partial<ServerConfig> = {}): ServerConfig {
  return {
    ...defaultServerConfig,
    ...partial,
    batch: { ...defaultServerConfig.batch, ...(partial.batch ?? {}) },
  };
}
