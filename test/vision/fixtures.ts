// Test fixtures for the vision tests: hostile and odd image files written into a temp folder, plus the
// labelled calibration set.
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { calibImages, calibLabels } from '../support/env.js';
import { pngChunk } from './animation-fixtures.js';

/** The calibration photos with their true wnid, in file order. */
export function calibSet(): Array<{ file: string; wnid: string; index: number }> {
  return readFileSync(calibLabels, 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => l.split('\t'))
    .map(([file, wnid, index]) => ({ file: join(calibImages, file!), wnid: wnid!, index: Number(index) }));
}


/** A PNG whose header claims width x height RGB pixels (a decompression-bomb header; no real pixel data). */
export function bombPng(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', Buffer.from([0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01])),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A 2x2 24-bit BMP (a real image format that Pictograph does not read). */
export function tinyBmp(): Buffer {
  const rowSize = 8; // 2 pixels * 3 bytes, padded to 4
  const pixels = Buffer.alloc(rowSize * 2, 0x80);
  const header = Buffer.alloc(54);
  header.write('BM', 0, 'latin1');
  header.writeUInt32LE(54 + pixels.length, 2);
  header.writeUInt32LE(54, 10);
  header.writeUInt32LE(40, 14);
  header.writeInt32LE(2, 18);
  header.writeInt32LE(2, 22);
  header.writeUInt16LE(1, 26);
  header.writeUInt16LE(24, 28);
  header.writeUInt32LE(pixels.length, 34);
  return Buffer.concat([header, pixels]);
}

export interface BadFiles {
  empty: string;
  truncated: string;
  textAsJpeg: string;
  bomb: string;
  bmp: string;
  svg: string;
  missing: string;
}

/** Writes one file of each kind of bad input into `dir`. `goodJpeg` supplies the bytes to truncate. */
export function writeBadFiles(dir: string, goodJpeg: string): BadFiles {
  const files: BadFiles = {
    empty: join(dir, 'empty.jpg'),
    truncated: join(dir, 'truncated.jpg'),
    textAsJpeg: join(dir, 'notes.jpg'),
    bomb: join(dir, 'bomb.png'),
    bmp: join(dir, 'tiny.bmp'),
    svg: join(dir, 'drawing.svg'),
    missing: join(dir, 'does-not-exist.jpg'),
  };
  writeFileSync(files.empty, Buffer.alloc(0));
  const jpeg = readFileSync(goodJpeg);
  writeFileSync(files.truncated, jpeg.subarray(0, Math.floor(jpeg.length / 2)));
  writeFileSync(files.textAsJpeg, 'This is a text file, not a photo.\n'.repeat(20));
  writeFileSync(files.bomb, bombPng(30000, 30000));
  writeFileSync(files.bmp, tinyBmp());
  writeFileSync(files.svg, '<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"><rect width="64" height="64" fill="red"/></svg>');
  return files;
}

/** Copies `n` calibration photos into `dir`; returns their new paths. */
export function copyGood(dir: string, n: number): string[] {
  return calibSet()
    .slice(0, n)
    .map(({ file }, i) => {
      const to = join(dir, `good-${String(i).padStart(2, '0')}.JPEG`);
      copyFileSync(file, to);
      return to;
    });
}

/** A w x h JPEG whose top half is red and bottom half blue, stored with EXIF `orientation`. */
export async function twoToneJpeg(path: string, w: number, h: number, orientation: number): Promise<string> {
  const top = await sharp({ create: { width: w, height: Math.floor(h / 2), channels: 3, background: { r: 255, g: 0, b: 0 } } }).png().toBuffer();
  await sharp({ create: { width: w, height: h, channels: 3, background: { r: 0, g: 0, b: 255 } } })
    .composite([{ input: top, top: 0, left: 0 }])
    .jpeg({ quality: 95 })
    .withMetadata({ orientation })
    .toFile(path);
  return path;
}
