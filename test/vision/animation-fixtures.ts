// Animated test files written byte by byte, so every disposal and blending mode can be exercised: a GIF
// encoder (sub-rectangles, transparency, disposal 0-3), an APNG encoder (dispose and blend ops) and an
// animated WebP container around sharp-encoded lossless frames (blend and dispose bits). Also a reference
// compositor (the browsers' rules, written from the specs) that the decoded frames are compared with.
import { crc32, deflateSync } from 'node:zlib';
import sharp from 'sharp';

/** One frame of a test animation: an RGBA sub-rectangle placed on the canvas. */
export interface TestFrame {
  x: number;
  y: number;
  width: number;
  height: number;
  /** width * height * 4 bytes; GIF frames must use fully opaque or fully transparent pixels. */
  rgba: Uint8Array;
  delayMs: number;
  /** 'none' keeps the frame, 'background' clears its rectangle to transparent, 'previous' restores what was there. */
  dispose: 'none' | 'background' | 'previous';
  /** 'over' alpha-composites onto the canvas, 'source' replaces the rectangle (APNG, WebP). GIF is always 'over'. */
  blend: 'over' | 'source';
}

/** The canvas after each frame is drawn, as browsers show it (RGBA, transparent black start). */
export function composeReference(width: number, height: number, frames: TestFrame[]): Uint8Array[] {
  let canvas = new Uint8Array(width * height * 4);
  const out: Uint8Array[] = [];
  for (const [i, f] of frames.entries()) {
    const saved = f.dispose === 'previous' ? canvas.slice() : null;
    for (let y = 0; y < f.height; y++) {
      for (let x = 0; x < f.width; x++) {
        const s = (y * f.width + x) * 4;
        const d = ((f.y + y) * width + f.x + x) * 4;
        const a = f.rgba[s + 3] / 255;
        if (f.blend === 'source' || a === 1) canvas.set(f.rgba.subarray(s, s + 4), d);
        else if (a > 0) {
          const da = canvas[d + 3] / 255;
          const oa = a + da * (1 - a);
          for (let c = 0; c < 3; c++) canvas[d + c] = Math.round((f.rgba[s + c] * a + canvas[d + c] * da * (1 - a)) / oa);
          canvas[d + 3] = Math.round(oa * 255);
        }
      }
    }
    out.push(canvas.slice());
    if (f.dispose === 'background' || (f.dispose === 'previous' && i === 0)) {
      for (let y = 0; y < f.height; y++) canvas.fill(0, ((f.y + y) * width + f.x) * 4, ((f.y + y) * width + f.x + f.width) * 4);
    } else if (saved) canvas = saved;
  }
  return out;
}

/** A solid RGBA rectangle, optionally with a transparent hole (x0,y0)-(x1,y1). */
export function solid(width: number, height: number, rgb: [number, number, number], hole?: [number, number, number, number]): Uint8Array {
  const out = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const inHole = hole && x >= hole[0] && x < hole[2] && y >= hole[1] && y < hole[3];
      out.set(inHole ? [0, 0, 0, 0] : [...rgb, 255], (y * width + x) * 4);
    }
  }
  return out;
}

// ---------------------------------------------------------------- GIF

/** GIF LZW with 9-bit codes only (a clear code every 250 codes keeps the table small): valid, uncompressed-ish. */
function lzw(indices: Uint8Array): Buffer {
  const bytes: number[] = [];
  let acc = 0;
  let bits = 0;
  const put = (code: number): void => {
    acc |= code << bits;
    bits += 9;
    while (bits >= 8) {
      bytes.push(acc & 0xff);
      acc >>>= 8;
      bits -= 8;
    }
  };
  put(256);
  indices.forEach((v, i) => {
    if (i > 0 && i % 250 === 0) put(256);
    put(v);
  });
  put(257);
  if (bits > 0) bytes.push(acc & 0xff);
  const blocks: Buffer[] = [Buffer.from([8])];
  for (let i = 0; i < bytes.length; i += 255) {
    const chunk = bytes.slice(i, i + 255);
    blocks.push(Buffer.from([chunk.length, ...chunk]));
  }
  blocks.push(Buffer.from([0]));
  return Buffer.concat(blocks);
}

/** An animated GIF of `frames` (each with a local 256-colour table; index 255 is the transparent one). */
export function encodeGif(width: number, height: number, frames: TestFrame[], opts: { delayCs?: number[] } = {}): Buffer {
  const parts: Buffer[] = [Buffer.from('GIF89a', 'latin1')];
  const lsd = Buffer.alloc(7);
  lsd.writeUInt16LE(width, 0);
  lsd.writeUInt16LE(height, 2);
  lsd[4] = 0; // no global colour table
  parts.push(lsd);
  parts.push(Buffer.from([0x21, 0xff, 0x0b, ...Buffer.from('NETSCAPE2.0', 'latin1'), 0x03, 0x01, 0x00, 0x00, 0x00]));
  for (const [i, f] of frames.entries()) {
    const palette: number[] = [];
    const lookup = new Map<number, number>();
    const indices = new Uint8Array(f.width * f.height);
    for (let p = 0; p < indices.length; p++) {
      const [r, g, b, a] = f.rgba.subarray(p * 4, p * 4 + 4);
      if (a! < 128) {
        indices[p] = 255;
        continue;
      }
      const key = (r! << 16) | (g! << 8) | b!;
      let idx = lookup.get(key);
      if (idx === undefined) {
        idx = palette.length / 3;
        if (idx >= 255) throw new Error('encodeGif: more than 255 colours in a frame');
        lookup.set(key, idx);
        palette.push(r!, g!, b!);
      }
      indices[p] = idx;
    }
    const table = Buffer.alloc(256 * 3);
    table.set(palette);
    const disposal = { none: 1, background: 2, previous: 3 }[f.dispose];
    const delay = opts.delayCs?.[i] ?? Math.round(f.delayMs / 10);
    const gce = Buffer.from([0x21, 0xf9, 0x04, (disposal << 2) | 1, delay & 0xff, delay >> 8, 255, 0]);
    const desc = Buffer.alloc(10);
    desc[0] = 0x2c;
    desc.writeUInt16LE(f.x, 1);
    desc.writeUInt16LE(f.y, 3);
    desc.writeUInt16LE(f.width, 5);
    desc.writeUInt16LE(f.height, 7);
    desc[9] = 0x80 | 7; // local colour table of 2^(7+1) entries
    parts.push(gce, desc, table, lzw(indices));
  }
  parts.push(Buffer.from([0x3b]));
  return Buffer.concat(parts);
}

// ---------------------------------------------------------------- APNG

export function pngChunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body) >>> 0);
  return Buffer.concat([len, body, crc]);
}

function rgbaRows(width: number, height: number, rgba: Uint8Array): Buffer {
  const rows = Buffer.alloc(height * (1 + width * 4));
  for (let y = 0; y < height; y++) rows.set(rgba.subarray(y * width * 4, (y + 1) * width * 4), y * (1 + width * 4) + 1);
  return deflateSync(rows);
}

/** An APNG whose default image is its first frame (which must cover the canvas). */
export function encodeApng(width: number, height: number, frames: TestFrame[], opts: { hiddenDefault?: Uint8Array } = {}): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 6, 0, 0, 0], 8);
  const actl = Buffer.alloc(8);
  actl.writeUInt32BE(frames.length, 0);
  actl.writeUInt32BE(0, 4);
  const parts = [Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), pngChunk('IHDR', ihdr), pngChunk('acTL', actl)];
  let seq = 0;
  if (opts.hiddenDefault) parts.push(pngChunk('IDAT', rgbaRows(width, height, opts.hiddenDefault)));
  for (const [i, f] of frames.entries()) {
    const fctl = Buffer.alloc(26);
    fctl.writeUInt32BE(seq++, 0);
    fctl.writeUInt32BE(f.width, 4);
    fctl.writeUInt32BE(f.height, 8);
    fctl.writeUInt32BE(f.x, 12);
    fctl.writeUInt32BE(f.y, 16);
    fctl.writeUInt16BE(Math.round(f.delayMs), 20);
    fctl.writeUInt16BE(1000, 22);
    fctl[24] = { none: 0, background: 1, previous: 2 }[f.dispose];
    fctl[25] = f.blend === 'source' ? 0 : 1;
    parts.push(pngChunk('fcTL', fctl));
    const data = rgbaRows(f.width, f.height, f.rgba);
    if (i === 0 && !opts.hiddenDefault) parts.push(pngChunk('IDAT', data));
    else {
      const s = Buffer.alloc(4);
      s.writeUInt32BE(seq++);
      parts.push(pngChunk('fdAT', Buffer.concat([s, data])));
    }
  }
  parts.push(pngChunk('IEND', Buffer.alloc(0)));
  return Buffer.concat(parts);
}

// ---------------------------------------------------------------- WebP

function riffChunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.write(type, 0, 'latin1');
  head.writeUInt32LE(data.length, 4);
  return Buffer.concat([head, data, data.length % 2 ? Buffer.alloc(1) : Buffer.alloc(0)]);
}

/** The chunks after "WEBP" of a still WebP file (VP8L, or ALPH + VP8 for lossy). */
function stillChunks(webp: Buffer): Buffer {
  let off = 12;
  const keep: Buffer[] = [];
  while (off + 8 <= webp.length) {
    const type = webp.toString('latin1', off, off + 4);
    const len = webp.readUInt32LE(off + 4);
    const total = 8 + len + (len % 2);
    if (type === 'VP8L' || type === 'VP8 ' || type === 'ALPH') keep.push(webp.subarray(off, off + total));
    off += total;
  }
  return Buffer.concat(keep);
}

const u24 = (v: number): Buffer => Buffer.from([v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff]);

/** An animated WebP with each frame's blend and dispose bits as given (frame offsets must be even). */
export async function encodeWebp(width: number, height: number, frames: TestFrame[]): Promise<Buffer> {
  const anmf: Buffer[] = [];
  for (const f of frames) {
    if (f.x % 2 || f.y % 2) throw new Error('encodeWebp: frame offsets must be even');
    if (f.dispose === 'previous') throw new Error('encodeWebp: WebP has no "previous" disposal');
    const still = await sharp(f.rgba, { raw: { width: f.width, height: f.height, channels: 4 } }).webp({ lossless: true }).toBuffer();
    const flags = (f.blend === 'source' ? 2 : 0) | (f.dispose === 'background' ? 1 : 0);
    const head = Buffer.concat([u24(f.x / 2), u24(f.y / 2), u24(f.width - 1), u24(f.height - 1), u24(Math.round(f.delayMs)), Buffer.from([flags])]);
    anmf.push(riffChunk('ANMF', Buffer.concat([head, stillChunks(still)])));
  }
  const vp8x = Buffer.concat([Buffer.from([0x02 | 0x10, 0, 0, 0]), u24(width - 1), u24(height - 1)]);
  const anim = Buffer.from([0, 0, 0, 0, 0, 0]); // transparent background, loop forever
  const body = Buffer.concat([Buffer.from('WEBP', 'latin1'), riffChunk('VP8X', vp8x), riffChunk('ANIM', anim), ...anmf]);
  const head = Buffer.alloc(8);
  head.write('RIFF', 0, 'latin1');
  head.writeUInt32LE(body.length, 4);
  return Buffer.concat([head, body]);
}
