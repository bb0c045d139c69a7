// APNG frames composed per the APNG spec (libvips reads only the default image of an APNG). Each frame's
// data (IDAT or fdAT) becomes a small stand-alone PNG decoded by sharp; this module composes the RGBA
// canvas: blend_op SOURCE replaces the frame's rectangle, OVER alpha-composites it; dispose_op NONE keeps
// it, BACKGROUND clears the rectangle to transparent black, PREVIOUS restores what was there before
// (on the first frame PREVIOUS acts as BACKGROUND). One canvas plus one saved copy at a time.
import { crc32 } from 'node:zlib';
import sharp from 'sharp';
import { PhotoError } from './decode.js';

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
// Chunks that describe the pixels and must precede IDAT in each frame's stand-alone PNG.
const COPIED = new Set(['PLTE', 'tRNS', 'gAMA', 'cHRM', 'sRGB', 'iCCP', 'sBIT']);

interface Chunk {
  type: string;
  data: Buffer;
}

/** The chunks of a PNG, in order; `complete` is false when the file ends inside a chunk or before IEND. */
function chunks(bytes: Buffer): { list: Chunk[]; complete: boolean } {
  if (bytes.length < 8 || !bytes.subarray(0, 8).equals(SIGNATURE)) throw new PhotoError('unsupported_format', 'not a PNG file');
  const list: Chunk[] = [];
  let off = 8;
  while (off + 8 <= bytes.length) {
    const len = bytes.readUInt32BE(off);
    const type = bytes.toString('latin1', off + 4, off + 8);
    if (off + 12 + len > bytes.length) return { list, complete: false };
    list.push({ type, data: bytes.subarray(off + 8, off + 8 + len) });
    off += 12 + len;
    if (type === 'IEND') return { list, complete: true };
  }
  return { list, complete: false };
}

/** Canvas size and declared frame count of an APNG, or null for a still PNG (no acTL before IDAT). */
export function apngInfo(bytes: Buffer): { width: number; height: number; frames: number } | null {
  let list: Chunk[];
  try {
    list = chunks(bytes).list;
  } catch {
    return null;
  }
  const ihdr = list[0]?.type === 'IHDR' ? list[0].data : null;
  if (!ihdr || ihdr.length < 13) return null;
  for (const c of list) {
    if (c.type === 'IDAT') return null;
    if (c.type === 'acTL' && c.data.length >= 8) return { width: ihdr.readUInt32BE(0), height: ihdr.readUInt32BE(4), frames: c.data.readUInt32BE(0) };
  }
  return null;
}

function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])) >>> 0);
  return Buffer.concat([head, data, crc]);
}

interface FrameControl {
  width: number;
  height: number;
  x: number;
  y: number;
  delayMs: number;
  dispose: number;
  blend: number;
  data: Buffer[];
}

/**
 * The composed frames of an APNG (RGBA, canvas size), in order, with their declared delays. Throws
 * PhotoError('truncated') when the file ends before the next frame is complete (earlier frames have been
 * yielded by then).
 */
export async function* apngFrames(bytes: Buffer, opts: { maxFrames: number; maxCanvasPixels: number }): AsyncGenerator<{ rgba: Uint8Array; delayMs: number }> {
  const { list, complete } = chunks(bytes);
  const ihdr = list[0]?.type === 'IHDR' ? list[0].data : null;
  if (!ihdr) throw new PhotoError('decode_failed', 'APNG without IHDR');
  const width = ihdr.readUInt32BE(0);
  const height = ihdr.readUInt32BE(4);
  if (width * height > opts.maxCanvasPixels) throw new PhotoError('too_many_pixels', `APNG canvas ${width}x${height} is over the limit`);
  const copied: Buffer[] = [];
  const frames: FrameControl[] = [];
  let current: FrameControl | null = null;
  let seenIdat = false;
  for (const c of list) {
    if (c.type === 'fcTL') {
      if (c.data.length < 26) throw new PhotoError('decode_failed', 'APNG fcTL chunk is too short');
      const num = c.data.readUInt16BE(20);
      const den = c.data.readUInt16BE(22) || 100;
      current = {
        width: c.data.readUInt32BE(4),
        height: c.data.readUInt32BE(8),
        x: c.data.readUInt32BE(12),
        y: c.data.readUInt32BE(16),
        delayMs: (num * 1000) / den,
        dispose: c.data[24]!,
        blend: c.data[25]!,
        data: [],
      };
      if (current.width === 0 || current.height === 0 || current.x + current.width > width || current.y + current.height > height) {
        throw new PhotoError('decode_failed', `APNG frame ${frames.length} (${current.width}x${current.height} at ${current.x},${current.y}) lies outside the ${width}x${height} canvas`);
      }
      frames.push(current);
    } else if (c.type === 'IDAT') {
      seenIdat = true;
      // IDAT belongs to the animation only when an fcTL came before it.
      if (current && frames.length === 1) current.data.push(c.data);
    } else if (c.type === 'fdAT') {
      if (current && c.data.length > 4) current.data.push(c.data.subarray(4));
    } else if (!seenIdat && COPIED.has(c.type)) {
      copied.push(chunk(c.type, c.data));
    }
  }
  const canvas = new Uint8Array(width * height * 4);
  const last = complete ? frames.length : frames.length - 1; // without IEND the last frame may be cut short
  for (let i = 0; i < Math.min(frames.length, opts.maxFrames); i++) {
    const f = frames[i]!;
    if (i >= last || f.data.length === 0) throw new PhotoError('truncated', `APNG is truncated at frame ${i}`);
    const head = Buffer.from(ihdr);
    head.writeUInt32BE(f.width, 0);
    head.writeUInt32BE(f.height, 4);
    const png = Buffer.concat([SIGNATURE, chunk('IHDR', head), ...copied, ...f.data.map((d) => chunk('IDAT', d)), chunk('IEND', Buffer.alloc(0))]);
    let rgba: Buffer;
    try {
      rgba = await sharp(png, { failOn: 'truncated' }).ensureAlpha().toColourspace('srgb').raw({ depth: 'uchar' }).toBuffer();
    } catch (err) {
      throw new PhotoError('truncated', `APNG frame ${i} cannot be decoded (${(err as Error).message.split('\n')[0]})`);
    }
    const saved = f.dispose === 2 && i > 0 ? canvas.slice() : null;
    for (let y = 0; y < f.height; y++) {
      const row = ((f.y + y) * width + f.x) * 4;
      if (f.blend === 0) {
        canvas.set(rgba.subarray(y * f.width * 4, (y + 1) * f.width * 4), row);
        continue;
      }
      for (let x = 0; x < f.width; x++) {
        const s = (y * f.width + x) * 4;
        const d = row + x * 4;
        const a = rgba[s + 3]!;
        if (a === 255) canvas.set(rgba.subarray(s, s + 4), d);
        else if (a > 0) {
          const sa = a / 255;
          const da = canvas[d + 3]! / 255;
          const oa = sa + da * (1 - sa);
          for (let k = 0; k < 3; k++) canvas[d + k] = Math.round((rgba[s + k]! * sa + canvas[d + k]! * da * (1 - sa)) / oa);
          canvas[d + 3] = Math.round(oa * 255);
        }
      }
    }
    yield { rgba: canvas.slice(), delayMs: f.delayMs };
    if (f.dispose === 1 || (f.dispose === 2 && i === 0)) {
      for (let y = 0; y < f.height; y++) canvas.fill(0, ((f.y + y) * width + f.x) * 4, ((f.y + y) * width + f.x + f.width) * 4);
    } else if (saved) canvas.set(saved);
  }
}
