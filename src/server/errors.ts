// The API's error model: one JSON shape `{error: {code, message}}` with stable snake_case codes, and the
// mapping from framework, decoding and queue errors to it.

/** An error meant for the client: HTTP status, stable code, human message. */
export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export const badRequest = (message: string, code = 'bad_request') => new ApiError(400, code, message);
export const notFound = (message: string, code = 'not_found') => new ApiError(404, code, message);
export const unauthorized = (message = 'Sign in: send `Authorization: Bearer <token>`.') =>
  new ApiError(401, 'unauthorized', message);
export const forbidden = (message: string) => new ApiError(403, 'forbidden', message);

/** JSON schema of the error body, for OpenAPI. */
export const errorBodySchema = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: { code: { type: 'string' }, message: { type: 'string' } },
    },
  },
} as const;

/** HTTP status for each decoding failure code of the vision module (`PhotoError.code`). */
const photoErrorStatus: Record<string, number> = {
  empty_file: 400,
  too_large: 413,
  too_many_pixels: 422,
  unsupported_format: 422,
  truncated: 422,
  decode_failed: 422,
  not_found: 422,
};

/** Library error codes (`LibraryError.code`) as HTTP status and API code. */
const libraryErrors: Record<string, { status: number; code: string }> = {
  bad_cursor: { status: 400, code: 'bad_cursor' },
  bad_limit: { status: 400, code: 'bad_request' },
  bad_request: { status: 400, code: 'bad_request' },
  unknown_owner: { status: 404, code: 'unknown_owner' },
  unknown_wnid: { status: 404, code: 'unknown_synset' },
  not_found: { status: 404, code: 'photo_not_found' },
};

/** Codes of framework errors we translate, by Fastify/multipart error code. */
const frameworkErrors: Record<string, { status: number; code: string; message?: string }> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: {
    status: 415,
    code: 'unsupported_media_type',
    message: 'This Content-Type is not accepted here (JSON bodies: application/json; images: image/*, application/octet-stream or multipart/form-data).',
  },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, code: 'bad_request' },
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, code: 'payload_too_large', message: 'The request body is larger than this server accepts.' },
  FST_REQ_FILE_TOO_LARGE: { status: 413, code: 'payload_too_large', message: 'An uploaded file is larger than this server accepts.' },
  FST_FILES_LIMIT: { status: 413, code: 'payload_too_large', message: 'Too many files in one request.' },
  FST_PARTS_LIMIT: { status: 413, code: 'payload_too_large', message: 'Too many parts in one request.' },
  FST_FIELDS_LIMIT: { status: 413, code: 'payload_too_large', message: 'Too many fields in one request.' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, code: 'empty_body', message: 'The request body is empty; send a JSON object.' },
  FST_INVALID_MULTIPART_CONTENT_TYPE: { status: 415, code: 'unsupported_media_type' },
  FST_PROTO_VIOLATION: { status: 400, code: 'bad_request' },
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, code: 'bad_json' },
  FST_ERR_BAD_URL: { status: 400, code: 'bad_url', message: 'The URL is malformed (bad %-encoding).' },
  FST_ERR_MAX_PARAM_LENGTH: { status: 414, code: 'uri_too_long', message: 'A path segment is longer than this server accepts.' },
  FST_ERR_CTP_INVALID_TYPE: { status: 415, code: 'unsupported_media_type' },
  FST_ERR_CTP_BODY_TOO_LARGE_MULTIPART: { status: 413, code: 'payload_too_large' },
  FST_INVALID_JSON_FIELD_ERROR: { status: 400, code: 'bad_multipart' },
  FST_NO_FORM_DATA: { status: 400, code: 'bad_multipart' },
};

/** File-system errors that mean the server's storage is full (507). */
const STORAGE_FULL = new Set(['ENOSPC', 'EDQUOT']);

interface ErrorLike {
  name?: string;
  code?: unknown;
  statusCode?: unknown;
  message?: string;
  validation?: unknown;
  retryAfterSeconds?: unknown;
}

/**
 * Turns any thrown value into an ApiError (never leaking server paths or stack traces).
 * `retryAfterSeconds` is used for queue-full errors.
 */
export function toApiError(err: unknown, retryAfterSeconds = 1): ApiError {
  if (err instanceof ApiError) return err;
  const e = (typeof err === 'object' && err !== null ? err : {}) as ErrorLike;
  const code = typeof e.code === 'string' ? e.code : undefined;
  if (e.name === 'QueueFullError' || code === 'queue_full') {
    return new ApiError(429, 'queue_full', 'The classifier is busy; retry shortly.', {
      'retry-after': String(retryAfterSeconds),
    });
  }
  if (e.name === 'PhotoError' && code && code in photoErrorStatus) {
    const status = photoErrorStatus[code]!;
    const apiCode = code === 'too_large' ? 'payload_too_large' : code === 'empty_file' ? 'empty_body' : code;
    return new ApiError(status, apiCode, scrubPaths(e.message ?? 'The image could not be read.'));
  }
  if (e.name === 'LibraryError' && code && code in libraryErrors) {
    const l = libraryErrors[code]!;
    return new ApiError(l.status, l.code, scrubPaths(e.message ?? l.code));
  }
  if (code === 'bad_cursor' || e.name === 'BadCursorError') {
    return new ApiError(400, 'bad_cursor', 'The paging cursor is not valid; start again without `cursor`.');
  }
  if (code && STORAGE_FULL.has(code)) {
    return new ApiError(507, 'storage_full', 'The server has no room left to store this; try again later.');
  }
  if (e.validation) {
    return new ApiError(400, 'bad_request', scrubPaths(e.message ?? 'Invalid request.'));
  }
  if (code && code in frameworkErrors) {
    const f = frameworkErrors[code]!;
    return new ApiError(f.status, f.code, f.message ?? scrubPaths(e.message ?? f.code));
  }
  const status = typeof e.statusCode === 'number' ? e.statusCode : 500;
  if (status >= 400 && status < 500) {
    return new ApiError(status, status === 404 ? 'not_found' : 'bad_request', scrubPaths(e.message ?? 'Bad request.'));
  }
  return new ApiError(500, 'internal_error', 'Something went wrong on the server; it has been logged.');
}

/**
 * An error raised while reading a multipart body: busboy's own errors (bad or missing boundary, truncated or
 * garbage body, client gone) carry no code, so they become 400 `bad_multipart`; coded ones (limits, ENOSPC,
 * ApiError) are kept as they are.
 */
export function multipartError(err: unknown): unknown {
  if (err instanceof ApiError) return err;
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && code !== '') return err;
  const message = err instanceof Error ? err.message : String(err);
  return new ApiError(400, 'bad_multipart', `The multipart body is malformed: ${scrubPaths(message)}.`);
}

/** Removes absolute file-system paths from a message (no endpoint may reveal where files live). */
export function scrubPaths(message: string): string {
  return message.replace(/(?:[A-Za-z]:)?(?:\/[\w.@+-]+){2,}\/?/g, '<path>');
}

export function errorBody(err: ApiError): { error: { code: string; message: string } } {
  return { error: { code: err.code, message: err.message } };
}
