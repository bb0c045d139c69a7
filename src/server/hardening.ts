// Defences at the HTTP edge: strict request validation (JSON bodies are never coerced; numbers in paths and
// query strings must be plain decimals), URL and JSON encoding checks (no NUL, no invalid UTF-8, before any
// query), connection-level errors (431, 408, garbage) in the API's error shape, logs without tokens, and
// security headers for the web app.
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { Ajv, type ValidateFunction } from 'ajv';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ApiError, errorBody } from './errors.js';

type Schema = Record<string, unknown>;

const ajvOptions = { useDefaults: true, removeAdditional: false, allErrors: false, strict: false } as const;
/** Query strings and path parameters arrive as text: they are coerced (after the decimal check below). */
const coercing = new Ajv({ ...ajvOptions, coerceTypes: 'array' });
/** JSON bodies carry their own types: `"true"` is not a boolean, `["public"]` not a string, `12345` not a name. */
const strict = new Ajv({ ...ajvOptions, coerceTypes: false });

const INTEGER = /^-?(0|[1-9][0-9]{0,15})$/;
const NUMBER = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?$|^-?\.[0-9]+$/;

/** Properties of an object schema declared as integer or number (checked as text before coercion). */
function numericProperties(schema: Schema): Map<string, RegExp> {
  const out = new Map<string, RegExp>();
  const props = (schema.properties ?? {}) as Record<string, Schema>;
  for (const [name, p] of Object.entries(props)) {
    if (p.type === 'integer') out.set(name, INTEGER);
    else if (p.type === 'number') out.set(name, NUMBER);
  }
  return out;
}

/** Fastify validator compiler: strict for bodies; decimal-only numbers, then coercion, for the rest. */
export function validatorCompiler({ schema, httpPart }: { schema: Schema; httpPart?: string }) {
  if (httpPart === 'body') return strict.compile(schema);
  const validate: ValidateFunction = coercing.compile(schema);
  const numeric = numericProperties(schema);
  return (data: unknown) => {
    if (numeric.size > 0 && data && typeof data === 'object') {
      for (const [name, pattern] of numeric) {
        const raw = (data as Record<string, unknown>)[name];
        if (raw === undefined) continue;
        const values = Array.isArray(raw) ? raw : [raw];
        for (const v of values) {
          if (typeof v === 'string' && !pattern.test(v)) {
            const where = httpPart === 'params' ? 'path parameter' : 'query parameter';
            return { error: new ApiError(400, 'bad_request', `The ${where} \`${name}\` must be a plain decimal number.`) };
          }
        }
      }
    }
    if (validate(data)) return { value: data };
    const first = validate.errors?.[0];
    const field = first?.instancePath ? first.instancePath.replace(/^\//, '') : '';
    const what = httpPart === 'params' ? 'params' : httpPart === 'querystring' ? 'querystring' : (httpPart ?? 'request');
    return { error: new ApiError(400, 'bad_request', `${what}${field ? `/${field}` : ''} ${first?.message ?? 'is invalid'}`) };
  };
}

/** A string holds NUL or a lone UTF-16 surrogate (text PostgreSQL cannot store, and no name contains). */
export function badText(s: string): boolean {
  return s.includes('\0') || /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s);
}

/** Throws 400 `bad_encoding` if any string in a parsed JSON value has NUL or lone surrogates. */
function checkJsonText(value: unknown, depth = 0): void {
  if (typeof value === 'string') {
    if (badText(value)) throw new ApiError(400, 'bad_encoding', 'The JSON body contains a NUL character or an unpaired surrogate.');
  } else if (Array.isArray(value)) {
    if (depth < 32) for (const v of value) checkJsonText(v, depth + 1);
  } else if (value && typeof value === 'object') {
    if (depth < 32) for (const [k, v] of Object.entries(value)) {
      checkJsonText(k, depth + 1);
      checkJsonText(v, depth + 1);
    }
  }
}

/**
 * The URL of a request, checked before routing continues: %-escapes must decode to valid UTF-8 without NUL
 * (so no query ever sees them, on either database).
 */
export function checkUrl(url: string): void {
  if (url.includes('\0') || /%00/i.test(url)) throw new ApiError(400, 'bad_encoding', 'The URL contains a NUL byte.');
  let decoded: string;
  try {
    decoded = decodeURIComponent(url);
  } catch {
    throw new ApiError(400, 'bad_encoding', 'The URL has malformed %-escapes or bytes that are not UTF-8.');
  }
  if (badText(decoded)) throw new ApiError(400, 'bad_encoding', 'The URL contains text that is not valid UTF-8.');
}

const fatalUtf8 = new TextDecoder('utf-8', { fatal: true });

/** JSON bodies: valid UTF-8 only, parsed with Fastify's own safe parser, then no NUL or lone surrogates. */
export function installJsonParser(app: FastifyInstance): void {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (req: FastifyRequest, body: Buffer, done) => {
    let text: string;
    try {
      text = fatalUtf8.decode(body);
    } catch {
      done(new ApiError(400, 'bad_encoding', 'The JSON body is not valid UTF-8.'), undefined);
      return;
    }
    parse(req, text, (err: Error | null, value?: unknown) => {
      if (err) return done(err, undefined);
      try {
        checkJsonText(value);
      } catch (e) {
        return done(e as Error, undefined);
      }
      done(null, value);
    });
  });
}

/**
 * Errors Node raises on a connection before any request exists (header overflow, request timeout, garbage):
 * answered in the API's shape, then the connection is closed.
 */
export function clientErrorHandler(err: Error & { code?: string }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  let status = 400;
  let error = new ApiError(400, 'bad_request', 'The request could not be parsed as HTTP.');
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    status = 408;
    error = new ApiError(408, 'request_timeout', 'The request was not received in time; the connection is closed.');
  } else if (err.code === 'HPE_HEADER_OVERFLOW') {
    status = 431;
    error = new ApiError(431, 'headers_too_large', 'The request headers are larger than this server accepts.');
  } else if (err.code === 'HPE_CHUNK_EXTENSIONS_OVERFLOW' || err.code === 'HPE_INVALID_CONTENT_LENGTH') {
    error = new ApiError(400, 'bad_request', 'The request body framing is invalid.');
  }
  const body = JSON.stringify(errorBody(error));
  const reason = { 400: 'Bad Request', 408: 'Request Timeout', 431: 'Request Header Fields Too Large' }[status];
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
        `Connection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}

/** How an unread body is drained. */
export interface DrainOptions {
  /** The shared pace of refused bodies (admission.ts, RefusedDrain): the reader pauses while ahead of it. */
  pace?: { take(bytes: number): number };
  /** Counts the dropped bytes, whose read buffers are collected young (body-garbage.ts). */
  garbage?: { received(bytes: number): void };
}

/**
 * An error answered before the request body was read (413, 507, a bad multipart part): the rest of the body is
 * read and dropped so the client, still sending, gets the answer instead of a reset connection; the connection
 * stays usable. Past `maxBytes` more (or the request timeout) the connection is cut.
 */
export function drainUnreadBody(req: IncomingMessage, maxBytes: number, opts: DrainOptions = {}): boolean {
  const { pace, garbage } = opts;
  if (req.complete || req.destroyed || req.readableEnded) return false;
  let seen = 0;
  req.unpipe();
  req.on('data', (chunk: Buffer) => {
    seen += chunk.length;
    garbage?.received(chunk.length);
    if (seen > maxBytes) {
      req.socket.destroy();
      return;
    }
    // Paced (bodies of refused requests): pause while ahead of the shared pace, at most a second at a time (a
    // silent socket is cut after the keep-alive timeout, which would reset the client).
    const wait = pace?.take(chunk.length) ?? 0;
    if (wait >= 5) {
      req.pause();
      setTimeout(() => req.resume(), Math.min(wait, 1000)).unref();
    }
  });
  req.on('error', () => undefined);
  req.resume();
  return true;
}

/**
 * Keeps a paused connection from reading on: works around a race in Node's HTTP server (seen on Node 20). When a
 * request's body ends in the same socket read as the next request's begins, which clients that send bodies
 * without waiting do on a kept-alive connection, Node resumes the socket for the next message and, within that
 * read, pauses it again for the new body's backpressure; the 'resume' event of the first call comes after (it is
 * emitted on the next tick) and restarts the socket's reads while the stream stays paused. Every later pause is
 * then a no-op, so the whole body is read into memory, however long the request waits: with 64 such clients
 * waiting for admission the server held 23 complete 6 MB bodies (bench "overload", blind clients, RSS 340-420
 * MB). A 'resume' that finds the stream paused again is answered with the 'pause' Node's server listens for,
 * which stops the reads; Node's own backpressure works from there.
 */
export function keepPausedSocketsStopped(server: Server): void {
  server.on('connection', (socket: Socket) => {
    socket.on('resume', () => {
      if (socket.readableFlowing === false && !socket.destroyed) socket.emit('pause');
    });
  });
}

/**
 * `Expect: 100-continue`: a client announcing a large body (curl does for bodies over 1 MB) waits for the server's
 * go-ahead before sending it. Node would give it at once; here it is given only when the request reaches body
 * parsing, after admission and authentication, so a request refused before (429, 401, 413) costs neither side the
 * upload. Such a refusal closes the connection: the client never sent the body its Content-Length announced.
 */
export function installExpectContinue(app: FastifyInstance, gate?: ContinueGate): void {
  app.server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    awaitingContinue.add(req);
    const admitted = gate?.admit(req, res);
    if (!admitted) {
      app.server.emit('request', req, res);
      return;
    }
    // Admission first, before the framework sees the request: a refusal is then a few header lines, which
    // matters when many clients retry at once.
    admitted.then(
      () => app.server.emit('request', req, res),
      (err: unknown) => {
        awaitingContinue.delete(req);
        const apiErr = err instanceof ApiError ? err : new ApiError(503, 'unavailable', 'The server could not admit the request.');
        const body = JSON.stringify(errorBody(apiErr));
        res.writeHead(apiErr.statusCode, {
          ...apiErr.headers,
          'content-type': 'application/json; charset=utf-8',
          'content-length': Buffer.byteLength(body),
          'x-content-type-options': 'nosniff',
          connection: 'close',
        });
        res.end(body);
        gate?.refused(req, apiErr.statusCode);
      },
    );
  });
  app.addHook('preParsing', async (req, reply) => {
    if (awaitingContinue.delete(req.raw)) reply.raw.writeContinue();
  });
}

/** Admission of `Expect: 100-continue` requests before routing (see installExpectContinue). */
export interface ContinueGate {
  /** Undefined: not gated here; else resolves once admitted, or rejects with the ApiError to answer. */
  admit(req: IncomingMessage, res: ServerResponse): Promise<void> | undefined;
  /** Called after a refusal was answered (metrics). */
  refused(req: IncomingMessage, status: number): void;
}

const awaitingContinue = new WeakSet<IncomingMessage>();

/**
 * Answering a request before its body was read: drains the rest (`drainUnreadBody`), or, when the client is still
 * waiting for 100 Continue or the body's stream was given up part-way, closes the connection after the answer.
 */
export function settleUnreadBody(req: IncomingMessage, res: ServerResponse, maxBytes: number, opts: DrainOptions = {}): void {
  if (awaitingContinue.delete(req)) {
    if (!res.headersSent) res.setHeader('connection', 'close');
    return;
  }
  // Reading stopped part-way (a body found too large as it streamed in; its stream was destroyed): the rest cannot
  // be drained, so the connection closes after the answer. Kept open, it would wait for the rest until the request
  // timeout, and hold up a graceful shutdown that long.
  if (req.destroyed && !req.complete) {
    if (!res.headersSent) res.setHeader('connection', 'close');
    return;
  }
  drainUnreadBody(req, maxBytes, opts);
}

/** A URL as logged: secrets in the query string (`token`, `access_token`) replaced with `[redacted]`. */
export function redactUrl(url: string): string {
  return url.replace(/([?&](?:token|access_token|key)=)[^&#]*/gi, '$1[redacted]');
}

/** Pino serializers for Fastify's logger: no tokens in logged URLs, no Authorization header at all. */
export const logSerializers = {
  req(req: { method?: string; url?: string; hostname?: string; ip?: string; socket?: { remotePort?: number } }) {
    return { method: req.method, url: redactUrl(req.url ?? ''), host: req.hostname, remoteAddress: req.ip, remotePort: req.socket?.remotePort };
  },
};

/**
 * Content-Security-Policy of the web app: its own scripts, styles and API only; images also from data: and
 * blob: URLs (the favicon, upload previews); no plugins, no <base>, never framed.
 */
export const contentSecurityPolicy = {
  useDefaults: false,
  directives: {
    defaultSrc: ["'self'"],
    scriptSrc: ["'self'"],
    styleSrc: ["'self'"],
    imgSrc: ["'self'", 'data:', 'blob:'],
    fontSrc: ["'self'", 'data:'],
    connectSrc: ["'self'"],
    objectSrc: ["'none'"],
    baseUri: ["'none'"],
    formAction: ["'self'"],
    frameAncestors: ["'none'"],
  },
};
