// Errors the photo library raises on purpose: each carries a stable code the CLI and HTTP server can map.

export type LibraryErrorCode =
  | 'bad_cursor'
  | 'bad_limit'
  | 'unknown_owner'
  | 'unknown_wnid'
  | 'not_found'
  | 'bad_request';

export class LibraryError extends Error {
  override readonly name = 'LibraryError';
  constructor(
    readonly code: LibraryErrorCode,
    message: string,
  ) {
    super(message);
  }
}
