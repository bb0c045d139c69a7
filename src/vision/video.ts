// Video files (MP4 / QuickTime, WebM / Matroska) recognised from their first bytes, so they get a clear answer:
// timelines of videos need ffmpeg, which Pictograph does not use yet (GIF, WebP and APNG animations are read).
import { open } from 'node:fs/promises';

export type VideoKind = 'mp4' | 'webm';

/** The video container of a file's first bytes, or null. */
export function videoKindOf(head: Uint8Array): VideoKind | null {
  const b = Buffer.from(head.buffer, head.byteOffset, head.byteLength);
  if (b.length >= 12 && b.toString('latin1', 4, 8) === 'ftyp' && !/^(avif|avis|heic|heix|mif1|msf1)$/.test(b.toString('latin1', 8, 12))) return 'mp4';
  if (b.length >= 4 && b[0] === 0x1a && b[1] === 0x45 && b[2] === 0xdf && b[3] === 0xa3) return 'webm';
  return null;
}

/** The video container of a file (path or bytes), or null when it is not a video. */
export async function videoKind(input: string | Buffer): Promise<VideoKind | null> {
  if (typeof input !== 'string') return videoKindOf(input.subarray(0, 16));
  const fh = await open(input, 'r').catch(() => null);
  if (!fh) return null;
  try {
    const head = Buffer.alloc(16);
    const { bytesRead } = await fh.read(head, 0, 16, 0);
    return videoKindOf(head.subarray(0, bytesRead));
  } finally {
    await fh.close();
  }
}

/** The message for a video: what it is and what would be needed. */
export function videoMessage(where: string, kind: VideoKind): string {
  return `${where}: a ${kind === 'mp4' ? 'MP4/QuickTime' : 'WebM/Matroska'} video; video needs ffmpeg, which this Pictograph does not use (animated GIF, WebP and APNG are supported)`;
}
