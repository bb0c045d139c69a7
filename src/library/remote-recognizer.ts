// A PhotoRecognizer over model servers (`pictograph serve --role model`): the photo is decoded here for its
// thumbnails while a model server classifies the same bytes; servers are tried round-robin, the next one on a
// refused connection or a 502/503/504 (draining, restarting). When every server answers 429 (at its limits of work
// in flight), the photo waits as their Retry-After says and tries again, until its deadline: a busy cluster slows an
// ingest down rather than failing its photos. The analysis crosses the wire losslessly.
import { decodePhoto, type DecodeOptions } from '../vision/decode.js';
import { modelSpec } from '../vision/manifest.js';
import type { ModelRef, PhotoAnalysis } from './analysis.js';
import { bytesToEmbedding, embeddingToBytes } from './embedding.js';
import { THUMBNAIL_SIZES, type PhotoRecognizer, type RecognizedPhoto } from './ingest.js';
import { recognizedFrom } from './recognizer.js';

/** PhotoAnalysis as JSON: numbers as they are (JSON keeps every double exactly), the embedding as base64 float32. */
export type WireAnalysis = Omit<PhotoAnalysis, 'embedding'> & { embedding: string };

export function analysisToWire(a: PhotoAnalysis): WireAnalysis {
  return { ...a, embedding: embeddingToBytes(a.embedding).toString('base64') };
}

export function analysisFromWire(w: WireAnalysis): PhotoAnalysis {
  return { ...w, embedding: bytesToEmbedding(Buffer.from(w.embedding, 'base64')) };
}

export class ModelServerError extends Error {
  override name = 'ModelServerError';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface RemoteRecognizerOptions {
  /** Model server base URLs (or one load balancer's). */
  urls: string[];
  /**
   * Rounds over every server before giving up (default 3); waits 0.5 s, 1 s, ... between rounds. A round in which
   * some server answered 429 (busy) does not count: the photo waits its Retry-After instead.
   */
  rounds?: number;
  /** Per-request timeout in ms (default 60 s); also how long a photo waits, all told, for busy servers. */
  timeoutMs?: number;
  maxBytes?: number;
}

export interface RemoteRecognizer extends PhotoRecognizer {
  /** The model of the latest answer (or of the first server's /readyz). */
  readonly model: ModelRef;
  urls: readonly string[];
  /**
   * A model server's POST /v1/classify answer (the library server's classify shape). Someone is waiting for it:
   * when every server is busy it fails at once (ModelServerError `overloaded`, status 429, `retryAfterMs`).
   */
  classify(bytes: Buffer, top?: number): Promise<unknown>;
  /**
   * The same recognizer with the caller's limits on its local decode (for thumbnails): a server passes its decode
   * gate and pixel limit, so uploads classified remotely are decoded within its budget like the others.
   */
  withDecodeLimits(limits: Pick<DecodeOptions, 'admit' | 'maxPixels'>): PhotoRecognizer;
  close(): Promise<void>;
}

/** A Retry-After header (seconds or an HTTP date) in ms: 1 s when absent or unreadable, at most 30 s. */
export function retryAfterMs(header: string | null, now = Date.now()): number {
  if (header === null || header.trim() === '') return 1000;
  const seconds = Number(header);
  const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(header) - now;
  return Number.isFinite(ms) ? Math.min(30_000, Math.max(0, ms)) : 1000;
}

/** The model servers from PICTOGRAPH_MODEL_SERVERS (comma-separated URLs); empty when unset. */
export function modelServersFromEnv(env: NodeJS.ProcessEnv = process.env): string[] {
  return (env.PICTOGRAPH_MODEL_SERVERS ?? '')
    .split(',')
    .map((s) => s.trim().replace(/\/+$/, ''))
    .filter((s) => s !== '');
}

const RETRY_STATUS = new Set([429, 502, 503, 504]);

/** Connects to model servers; asks the first that answers /readyz for its model (works without any answering). */
export async function remoteRecognizer(opts: RemoteRecognizerOptions): Promise<RemoteRecognizer> {
  const urls = opts.urls.map((u) => u.replace(/\/+$/, ''));
  if (urls.length === 0) throw new Error('no model server URLs given');
  for (const u of urls) {
    if (!/^https?:\/\/[^/]+/.test(u)) throw new Error(`model server URL must be http(s)://host:port: ${u}`);
  }
  const rounds = Math.max(1, opts.rounds ?? 3);
  const timeoutMs = opts.timeoutMs ?? 60_000;
  let model: ModelRef = { id: 'unknown', sha256: '' };
  let next = 0;
  for (const u of urls) {
    try {
      const r = await fetch(`${u}/readyz`, { signal: AbortSignal.timeout(5000) });
      const body = (await r.json()) as { model?: ModelRef };
      if (r.ok && body.model) {
        model = { id: body.model.id, sha256: body.model.sha256 };
        break;
      }
    } catch {
      // try the next one; classification retries anyway
    }
  }
  const thumbSpec = modelSpec();

  /**
   * POSTs the photo to `path` on the next server, moving on past refusals and 429/502/503/504; after a round in
   * which a server was busy (429), waits what it asked (Retry-After, with jitter) until the photo's deadline.
   */
  async function postRemote(path: string, bytes: Buffer, opts: { waitForBusy?: boolean } = {}): Promise<unknown> {
    let last = 'no answer';
    const deadline = performance.now() + timeoutMs;
    for (let round = 0; round < rounds; ) {
      let busyMs = -1;
      for (let i = 0; i < urls.length; i++) {
        const url = urls[next++ % urls.length]!;
        let res: Response;
        try {
          res = await fetch(`${url}${path}`, {
            method: 'POST',
            headers: { 'content-type': 'application/octet-stream' },
            body: bytes,
            signal: AbortSignal.timeout(timeoutMs),
          });
        } catch (err) {
          last = `${url}: ${(err as Error).message}`;
          continue;
        }
        const text = await res.text();
        if (res.ok) return JSON.parse(text) as unknown;
        let code = 'model_server_error';
        let message = text.slice(0, 300);
        try {
          const e = (JSON.parse(text) as { error?: { code?: string; message?: string } }).error;
          if (e?.code) code = e.code;
          if (e?.message) message = e.message;
        } catch {
          // not JSON (a proxy's page)
        }
        if (RETRY_STATUS.has(res.status)) {
          last = `${url}: ${res.status} ${code}`;
          if (res.status === 429) busyMs = Math.max(busyMs, retryAfterMs(res.headers.get('retry-after')));
          continue;
        }
        throw Object.assign(new ModelServerError(code, `model server ${url}: ${message}`), { status: res.status });
      }
      const busy = busyMs >= 0;
      // A caller that cannot wait (a person's classification) hears at once that the servers are busy.
      if (busy && opts.waitForBusy === false) {
        throw Object.assign(new ModelServerError('overloaded', `every model server is at its limits (${last})`), { status: 429, retryAfterMs: busyMs });
      }
      // Busy servers: wait as asked (0-50% more, so that refused photos do not all come back at once); a busy round
      // does not count against the rounds.
      const wait = busy ? Math.max(100, busyMs) * (1 + Math.random() / 2) : 500 * (round + 1);
      if (!busy && ++round >= rounds) break;
      if (performance.now() + wait > deadline) break;
      await new Promise((r) => setTimeout(r, wait));
    }
    throw new ModelServerError('model_unavailable', `no model server could classify the photo (${last})`);
  }

  async function analyzeRemote(bytes: Buffer): Promise<PhotoAnalysis> {
    const a = analysisFromWire((await postRemote('/v1/analyze', bytes)) as WireAnalysis);
    model = a.model;
    return a;
  }

  const recognize = async (bytes: Buffer, limits: Pick<DecodeOptions, 'admit' | 'maxPixels'> = {}): Promise<RecognizedPhoto> => {
    // Decode here first: a bad file fails with its own code without a round trip, and the thumbnails come from it.
    const decoded = await decodePhoto(bytes, thumbSpec, { thumbnails: [...THUMBNAIL_SIZES], omitUnreduced: true, maxBytes: opts.maxBytes, ...limits });
    const analysis = await analyzeRemote(bytes);
    return recognizedFrom(decoded, analysis);
  };

  return {
    urls,
    get model() {
      return model;
    },
    recognize: (bytes: Buffer) => recognize(bytes),
    withDecodeLimits: (limits) => ({
      get model() {
        return model;
      },
      recognize: (bytes: Buffer) => recognize(bytes, limits),
    }),
    async classify(bytes: Buffer, top = 5): Promise<unknown> {
      return postRemote(`/v1/classify?top=${top}`, bytes, { waitForBusy: false });
    },
    async close() {},
  };
}
