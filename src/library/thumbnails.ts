// Thumbnail files: content-addressed names under the media dir, written atomically (tmp file + rename).
import { randomBytes } from 'node:crypto';
import { mkdir, rename, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** Relative path of a photo's thumbnail: `thumbs/ab/<sha256>-<size>.webp`. */
export function thumbnailName(contentHash: string, size: number): string {
  return join('thumbs', contentHash.slice(0, 2), `${contentHash}-${size}.webp`);
}

/** Writes a thumbnail unless it is already there; returns its relative name. */
export async function saveThumbnail(media: string, contentHash: string, size: number, webp: Buffer): Promise<string> {
  const name = thumbnailName(contentHash, size);
  const target = join(media, name);
  try {
    if ((await stat(target)).size > 0) return name;
  } catch {
    // not there yet
  }
  await mkdir(dirname(target), { recursive: true });
  const tmp = `${target}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(tmp, webp);
  await rename(tmp, target);
  return name;
}
