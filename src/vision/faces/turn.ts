// Quarter turns for photos stored sideways or upside down with no EXIF orientation to say so (scans, old cameras,
// albums that kept the turn in their own index): BlazeFace looks for upright faces only, so the face stage can look
// at such a photo turned. `turnImage` turns the detector's RGB image clockwise (libvips); `unturnBox` /
// `unturnPoint` bring coordinates found in the turned image back to the photo as stored. Pure except turnImage.
import sharp from 'sharp';

/** Clockwise degrees. */
export type Turn = 0 | 90 | 180 | 270;

/** The turns tried, in order: sideways either way (the common case), then upside down. */
export const TURNS: readonly Exclude<Turn, 0>[] = [90, 270, 180];

export interface RgbImage {
  rgb: Buffer;
  width: number;
  height: number;
}

/** The image turned clockwise by `turn` (a new buffer; the same one for 0). */
export async function turnImage(image: RgbImage, turn: Turn): Promise<RgbImage> {
  if (turn === 0) return image;
  const { data, info } = await sharp(image.rgb, { raw: { width: image.width, height: image.height, channels: 3 } })
    .rotate(turn)
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { rgb: data, width: info.width, height: info.height };
}

/**
 * A point of the image turned clockwise by `turn` back in the unturned image of `width` x `height` (continuous
 * pixel coordinates: a pixel's centre is at +0.5).
 */
export function unturnPoint([u, v]: readonly [number, number], turn: Turn, width: number, height: number): [number, number] {
  switch (turn) {
    case 0:
      return [u, v];
    case 90:
      return [v, height - u];
    case 180:
      return [width - u, height - v];
    case 270:
      return [width - v, u];
  }
}

/** A box [x, y, w, h] of the turned image back in the unturned one (see unturnPoint). */
export function unturnBox([x, y, w, h]: readonly [number, number, number, number], turn: Turn, width: number, height: number): [number, number, number, number] {
  const [ax, ay] = unturnPoint([x, y], turn, width, height);
  const [bx, by] = unturnPoint([x + w, y + h], turn, width, height);
  return [Math.min(ax, bx), Math.min(ay, by), Math.abs(bx - ax), Math.abs(by - ay)];
}

/**
 * The clockwise turn that shows a face upright, from its landmarks (right eye, left eye, ...: the person's right
 * eye is on the image's left in an upright face): the eye line's direction rounded to a quarter turn, so a face
 * found in a photo stored sideways gets an upright thumbnail while a tilted head keeps its tilt. 0 without eyes.
 */
export function uprightTurn(landmarks: ReadonlyArray<readonly [number, number]>): Turn {
  const [right, left] = landmarks;
  if (!right || !left) return 0;
  const degrees = (Math.atan2(left[1] - right[1], left[0] - right[0]) * 180) / Math.PI;
  const quarters = ((Math.round(degrees / 90) % 4) + 4) % 4;
  return ((4 - quarters) % 4) * 90 as Turn;
}
