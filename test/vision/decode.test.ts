// Decoding and preprocessing: the zoo's geometry, normalisation, EXIF orientation, formats, thumbnails and
// the refusal of bad inputs with stable error codes.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import fc from 'fast-check';
import { cropGeometry, decodePhoto, PhotoError, toTensor, WORKING_SIZE, workingSize } from '../../src/vision/decode.js';
import { modelSpec } from '../../src/vision/manifest.js';
import { photosDir } from '../support/env.js';
import { calibSet, twoToneJpeg, writeBadFiles, type BadFiles } from './fixtures.js';

const spec = modelSpec();
const plane = 224 * 224;

function cosine(a: Float32Array, b: Float32Array): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return ab / Math.sqrt(aa * bb);
}

describe('preprocessing geometry and normalisation', () => {
  test('shorter side to 256, longer truncated like torchvision, centred 224 crop', () => {
    assert.deepEqual(cropGeometry(500, 375, spec.input), { width: 341, height: 256, left: 59, top: 16 });
    assert.deepEqual(cropGeometry(375, 500, spec.input), { width: 256, height: 341, left: 16, top: 59 });
    assert.deepEqual(cropGeometry(256, 256, spec.input), { width: 256, height: 256, left: 16, top: 16 });
    assert.deepEqual(cropGeometry(4000, 100, spec.input), { width: 10240, height: 256, left: 5008, top: 16 });
  });

  test('RGB interleaved bytes become planar, scaled and normalised with the ImageNet mean/std', () => {
    const rgb = Uint8Array.from([255, 0, 128, 0, 255, 64]);
    const t = toTensor(rgb, 2, spec.input);
    const norm = (v: number, c: number) => (v / 255 - spec.input.mean[c]) / spec.input.std[c];
    const expected = [norm(255, 0), norm(0, 0), norm(0, 1), norm(255, 1), norm(128, 2), norm(64, 2)];
    expected.forEach((e, i) => assert.ok(Math.abs(t[i] - e) < 1e-6, `value ${i}: ${t[i]} vs ${e}`));
  });

  test('Caffe-era models (GoogLeNet): whole photo stretched, BGR planes, 0-255 minus the per-plane means', () => {
    const googlenet = modelSpec('googlenet-12-int8').input;
    assert.deepEqual(cropGeometry(500, 375, googlenet), { width: 224, height: 224, left: 0, top: 0 });
    const rgb = Uint8Array.from([255, 0, 128, 10, 20, 30]);
    const t = toTensor(rgb, 2, googlenet);
    // plane 0 = blue - 103.939, plane 1 = green - 116.779, plane 2 = red - 123.68
    const expected = [128 - 103.939, 30 - 103.939, 0 - 116.779, 20 - 116.779, 255 - 123.68, 10 - 123.68];
    expected.forEach((e, i) => assert.ok(Math.abs(t[i] - e) < 1e-4, `value ${i}: ${t[i]} vs ${e}`));
  });
});

describe('decodePhoto', () => {
  let dir: string;
  let bad: BadFiles;
  const jpeg = calibSet()[0].file;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'pictograph-decode-'));
    bad = writeBadFiles(dir, jpeg);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('a JPEG gives a normalised 3x224x224 tensor and its facts', async () => {
    const d = await decodePhoto(jpeg, spec);
    assert.equal(d.tensor.length, 3 * plane);
    assert.equal(d.format, 'jpeg');
    assert.equal(d.orientation, 1);
    const meta = await sharp(jpeg).metadata();
    assert.deepEqual([d.width, d.height], [meta.width, meta.height]);
    const min = d.tensor.reduce((a, b) => Math.min(a, b), Infinity);
    const max = d.tensor.reduce((a, b) => Math.max(a, b), -Infinity);
    assert.ok(min >= -2.2 && max <= 2.7 && max - min > 1, `range ${min}..${max}`);
    // Bytes and path give the same tensor.
    const fromBuffer = await decodePhoto(readFileSync(jpeg), spec);
    assert.deepEqual(fromBuffer.tensor, d.tensor);
  });

  test('the tensor is the crop of the resized image, channel planes in RGB order', async () => {
    // A solid orange image: every R value the same, etc.
    const file = join(dir, 'orange.png');
    await sharp({ create: { width: 300, height: 200, channels: 3, background: { r: 255, g: 128, b: 0 } } }).png().toFile(file);
    const d = await decodePhoto(file, spec);
    const expect = [255, 128, 0].map((v, c) => (v / 255 - spec.input.mean[c]) / spec.input.std[c]);
    for (let c = 0; c < 3; c++) {
      for (const i of [0, 1000, plane - 1]) assert.ok(Math.abs(d.tensor[c * plane + i] - expect[c]) < 1e-5, `channel ${c}`);
    }
  });

  test('EXIF orientation is applied (180 degrees: the red top ends up at the bottom)', async () => {
    const file = await twoToneJpeg(join(dir, 'upside-down.jpg'), 320, 240, 3);
    const d = await decodePhoto(file, spec);
    assert.equal(d.orientation, 3);
    assert.deepEqual([d.width, d.height], [320, 240]);
    const red = (row: number) => d.tensor[row * 224 + 112]; // R plane, centre column
    assert.ok(red(10) < 0 && red(213) > 1.5, `top R ${red(10)}, bottom R ${red(213)}`);
  });

  test('EXIF orientation 6 swaps the reported size', async () => {
    const file = await twoToneJpeg(join(dir, 'sideways.jpg'), 320, 240, 6);
    const d = await decodePhoto(file, spec);
    assert.equal(d.orientation, 6);
    assert.deepEqual([d.width, d.height], [240, 320]);
  });

  test('PNG, WebP, AVIF, TIFF and GIF (first frame) decode to nearly the same tensor as the JPEG', async () => {
    const ref = await decodePhoto(jpeg, spec);
    const pixels = sharp(jpeg);
    const variants: Array<[string, Buffer]> = [
      ['png', await pixels.clone().png().toBuffer()],
      ['webp', await pixels.clone().webp({ quality: 95 }).toBuffer()],
      ['avif', await pixels.clone().avif({ quality: 80, effort: 0 }).toBuffer()],
      ['tiff', await pixels.clone().tiff().toBuffer()],
      ['gif', await pixels.clone().gif().toBuffer()],
    ];
    for (const [format, bytes] of variants) {
      const d = await decodePhoto(bytes, spec);
      assert.equal(d.format, format);
      const sim = cosine(ref.tensor, d.tensor);
      assert.ok(sim > (format === 'gif' ? 0.9 : 0.98), `${format}: cosine ${sim}`);
    }
    // An animated GIF: only the first frame counts.
    const red = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#ff0000' } }).raw().toBuffer();
    const blue = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#0000ff' } }).raw().toBuffer();
    const anim = await sharp(Buffer.concat([red, blue]), { raw: { width: 64, height: 128, channels: 3, pageHeight: 64 } } as never)
      .gif({ loop: 0 })
      .toBuffer();
    const g = await decodePhoto(anim, spec);
    assert.equal(g.format, 'gif');
    assert.deepEqual([g.width, g.height], [64, 64]);
    assert.ok(g.tensor[0] > 2 && g.tensor[2 * plane] < 0, 'first frame (red)');
  });

  test('greyscale, 16-bit, RGBA and CMYK inputs all become 3-channel 8-bit sRGB tensors', async () => {
    const ref = await decodePhoto(jpeg, spec);
    const grey = await decodePhoto(await sharp(jpeg).toColourspace('b-w').png().toBuffer(), spec);
    for (const i of [0, 5000, plane - 1]) {
      const v = grey.tensor[i] * spec.input.std[0] + spec.input.mean[0];
      assert.ok(Math.abs(grey.tensor[plane + i] * spec.input.std[1] + spec.input.mean[1] - v) < 1e-5, 'G = R');
      assert.ok(Math.abs(grey.tensor[2 * plane + i] * spec.input.std[2] + spec.input.mean[2] - v) < 1e-5, 'B = R');
    }
    const variants = {
      png16: await sharp(jpeg).toColourspace('rgb16').png().toBuffer(),
      rgba: await sharp(jpeg).ensureAlpha(0.5).png().toBuffer(),
      cmyk: await sharp(jpeg).toColourspace('cmyk').jpeg({ quality: 95 }).toBuffer(),
    };
    for (const [name, bytes] of Object.entries(variants)) {
      const sim = cosine(ref.tensor, (await decodePhoto(bytes, spec)).tensor);
      assert.ok(sim > 0.97, `${name}: cosine ${sim}`);
    }
  });

  test('thumbnails come from the same decode, JPEG, longest side = size, never enlarged; the tensor is unchanged', async () => {
    const big = join(photosDir, 'forensics_white-dog-tiles.jpg');
    const d = await decodePhoto(big, spec, { thumbnails: [256, 1024] });
    assert.equal(d.orientation, 3);
    assert.deepEqual(
      d.thumbnails!.map((t) => [t.size, t.format, Math.max(t.width, t.height)]),
      [
        [256, 'jpeg', 256],
        [1024, 'jpeg', 1024],
      ],
    );
    for (const t of d.thumbnails!) {
      assert.deepEqual([...t.data.subarray(0, 3)], [0xff, 0xd8, 0xff], 'a JPEG');
      const m = await sharp(t.data).metadata();
      assert.deepEqual([m.width, m.height], [t.width, t.height]);
    }
    assert.ok(d.exif && d.exif.length > 0, 'EXIF block kept');
    // One preprocessing path: asking for thumbnails (or passing bytes) never changes the tensor.
    const plain = await decodePhoto(big, spec);
    assert.deepEqual(plain.tensor, d.tensor);
    assert.deepEqual((await decodePhoto(readFileSync(big), spec, { thumbnails: [256] })).tensor, d.tensor);
    const small = await decodePhoto(jpeg, spec, { thumbnails: [1024] });
    assert.equal(Math.max(small.thumbnails![0].width, small.thumbnails![0].height), Math.max(small.width, small.height));
    assert.deepEqual(small.tensor, (await decodePhoto(jpeg, spec)).tensor);
    const webp = await decodePhoto(jpeg, spec, { thumbnails: [256], thumbnailEncoding: { format: 'webp', quality: 80 } });
    assert.equal(webp.thumbnails![0].data.subarray(8, 12).toString('latin1'), 'WEBP');
  });

  test('the working copy: longest side WORKING_SIZE, shorter side never below the model resize, never enlarged', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 20_000 }), fc.integer({ min: 1, max: 20_000 }), (w, h) => {
        const { width, height } = workingSize(w, h, spec.input);
        assert.ok(width <= w && height <= h, 'never enlarged');
        if (width === w && height === h) return;
        assert.ok(Math.min(width, height) >= Math.min(spec.input.resizeShorter, Math.min(w, h)) - 1, 'enough for the model');
        assert.ok(Math.max(width, height) >= WORKING_SIZE - 1, 'enough for the large thumbnail');
        assert.ok(Math.abs(width / height - w / h) <= (w / h) * (2 / Math.min(width, height)) + 1e-9, 'aspect kept');
      }),
    );
  });

  const expectCode = async (input: string | Buffer, code: string, opts = {}) => {
    await assert.rejects(decodePhoto(input, spec, opts), (err: unknown) => {
      assert.ok(err instanceof PhotoError, `PhotoError, got ${String(err)}`);
      assert.equal(err.code, code, err.message);
      assert.ok(err.message.length > 10);
      return true;
    });
  };

  test('bad inputs are refused with stable codes', async () => {
    await expectCode(bad.missing, 'not_found');
    await expectCode(bad.empty, 'empty_file');
    await expectCode(Buffer.alloc(0), 'empty_file');
    await expectCode(bad.truncated, 'truncated');
    await expectCode(bad.textAsJpeg, 'unsupported_format');
    await expectCode(bad.bmp, 'unsupported_format');
    await expectCode(bad.svg, 'unsupported_format');
    await expectCode(jpeg, 'too_large', { maxBytes: 1000 });
    await expectCode(jpeg, 'too_many_pixels', { maxPixels: 10_000 });
  });

  test('a 30000x30000 PNG is refused from its header, before decoding', async () => {
    const before = process.memoryUsage().rss;
    await expectCode(bad.bomb, 'too_many_pixels');
    // Decoding would need 2.7 GB; refusing from the header allocates next to nothing.
    assert.ok(process.memoryUsage().rss - before < 200 * 1024 * 1024);
    // A real (highly compressible) bomb made by sharp is refused the same way.
    const real = join(dir, 'real-bomb.png');
    writeFileSync(real, await sharp({ create: { width: 4000, height: 4000, channels: 3, background: '#000' } }).png({ compressionLevel: 1 }).toBuffer());
    await expectCode(real, 'too_many_pixels', { maxPixels: 10_000_000 });
    assert.equal((await decodePhoto(real, spec)).width, 4000, 'under the default limit it decodes');
  });
});
