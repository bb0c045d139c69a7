// Thumbnail files (JPEG; WebP in older libraries): content-addressed names under the media dir (written staged,
// then renamed: see media.ts).
import { join } from 'node:path';
import { THUMBNAIL_TYPES, type ThumbnailEncoding } from '../vision/decode.js';

type ThumbnailFormat = ThumbnailEncoding['format'];

/** Relative path of a photo's thumbnail: `thumbs/ab/<sha256>-<size>.<jpg|webp|avif>`. */
export function thumbnailName(contentHash: string, size: number, format: ThumbnailFormat = 'jpeg'): string {
  return join('thumbs', contentHash.slice(0, 2), `${contentHash}-${size}.${THUMBNAIL_TYPES[format].ext}`);
}

/** Media type of a stored thumbnail, from its name (older libraries hold `.webp` ones). */
export function thumbnailMediaType(name: string): string {
  const ext = name.slice(name.lastIndexOf('.') + 1).toLowerCase();
  return Object.values(THUMBNAIL_TYPES).find((t) => t.ext === ext)?.mediaType ?? 'application/octet-stream';
}
