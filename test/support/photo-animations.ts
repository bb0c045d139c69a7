// Animations made from real photos (../shared), for the timeline tests and the bench: each photo is shown for
// a few frames (each frame a slightly shifted crop, so frames of one scene differ as in a real clip), with
// chosen delays, as an animated GIF, WebP (both written by sharp) or APNG (written by the test encoder).
import sharp from 'sharp';
import { encodeApng, type TestFrame } from '../vision/animation-fixtures.js';

export const ANIM_W = 320;
export const ANIM_H = 240;

export interface Scene {
  photo: string;
  /** One delay per frame of this scene (ms; GIF rounds to 10 ms). */
  delaysMs: number[];
}

/** RGBA frames of one scene: the photo cropped to 320x240 from a canvas 16 px larger, panning 2 px a frame. */
async function sceneFrames(photo: string, n: number): Promise<Buffer[]> {
  const big = await sharp(photo).rotate().resize(ANIM_W + 16, ANIM_H + 16, { fit: 'cover' }).ensureAlpha().raw().toBuffer();
  const raw = { raw: { width: ANIM_W + 16, height: ANIM_H + 16, channels: 4 as const } };
  return Promise.all(Array.from({ length: n }, (_, i) => sharp(big, raw).extract({ left: (2 * i) % 16, top: i % 16, width: ANIM_W, height: ANIM_H }).raw().toBuffer()));
}

export interface BuiltAnimation {
  bytes: Buffer;
  /** Index of the first frame of each scene. */
  sceneStarts: number[];
  frames: number;
}

export async function buildAnimation(scenes: Scene[], format: 'gif' | 'webp' | 'apng'): Promise<BuiltAnimation> {
  const frames: Buffer[] = [];
  const delays: number[] = [];
  const sceneStarts: number[] = [];
  for (const s of scenes) {
    sceneStarts.push(frames.length);
    frames.push(...(await sceneFrames(s.photo, s.delaysMs.length)));
    delays.push(...s.delaysMs);
  }
  let bytes: Buffer;
  if (format === 'apng') {
    const tf: TestFrame[] = frames.map((rgba, i) => ({ x: 0, y: 0, width: ANIM_W, height: ANIM_H, rgba, delayMs: delays[i]!, dispose: 'none', blend: 'source' }));
    bytes = encodeApng(ANIM_W, ANIM_H, tf);
  } else {
    const raw = { raw: { width: ANIM_W, height: ANIM_H, channels: 4 as const } };
    const pngs = await Promise.all(frames.map((f) => sharp(f, raw).png({ compressionLevel: 1 }).toBuffer()));
    const joined = pngs.length === 1 ? sharp(pngs[0]) : sharp(pngs, { join: { animated: true } });
    bytes = format === 'gif' ? await joined.gif({ delay: delays, loop: 0, effort: 1 }).toBuffer() : await joined.webp({ delay: delays, loop: 0, quality: 85, effort: 1 }).toBuffer();
  }
  return { bytes, sceneStarts, frames: frames.length };
}
