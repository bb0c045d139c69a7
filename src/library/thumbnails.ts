// Thumbnail files: content-addressed names under the media dir (written staged, then renamed: see media.ts).
import { join } from 'node:path';

/** Relative path of a photo's thumbnail: `thumbs/ab/<sha256>-<size>.webp`. */
export function thumbnailName(contentHash: string, size: number): string {
  return join('thumbs', contentHash.slice(0, 2), `${contentHash}-${size}.webp`);
}
