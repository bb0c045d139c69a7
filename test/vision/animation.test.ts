// Animated GIF / WebP / APNG decoding: frames composed as browsers compose them (every disposal and blending
// mode, on hand-built files), timestamps from the delays (short delays shown for 100 ms), and bad input.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { animationInfo, decodeAnimation, effectiveDelayMs, frameTensor } from '../../src/vision/animation.js';
import { decodePhoto, PhotoError } from '../../src/vision/decode.js';
import type { InputSpec } from '../../src/vision/manifest.js';
import { composeReference, encodeApng, encodeGif, encodeWebp, solid, type TestFrame } from './animation-fixtures.js';

const S = 48;
/** A spec whose pre-crop geometry is the canvas itself, so decoded frames can be compared pixel by pixel. */
const identity: InputSpec = { size: S, resizeShorter: S, crop: 'none', colour: 'RGB', scale: 1, mean: [0, 0, 0], std: [1, 1, 1], layout: 'NCHW', inputName: 'x' };

const frames: TestFrame[] = [
  { x: 0, y: 0, width: S, height: S, rgba: solid(S, S, [200, 0, 0]), delayMs: 100, dispose: 'none', blend: 'source' },
  // a green square with a transparent hole, cleared after it is shown
  { x: 10, y: 6, width: 16, height: 12, rgba: solid(16, 12, [0, 200, 0], [4, 4, 8, 8]), delayMs: 250, dispose: 'background', blend: 'over' },
  // a blue square, removed again after it is shown (restore previous)
  { x: 4, y: 4, width: 10, height: 10, rgba: solid(10, 10, [0, 0, 200]), delayMs: 0, dispose: 'previous', blend: 'over' },
  // a yellow bar with a hole, over what is left
  { x: 20, y: 10, width: 12, height: 8, rgba: solid(12, 8, [200, 200, 0], [0, 0, 6, 4]), delayMs: 10, dispose: 'none', blend: 'over' },
  { x: 30, y: 30, width: 8, height: 8, rgba: solid(8, 8, [0, 200, 200]), delayMs: 2000, dispose: 'none', blend: 'over' },
];

/** Pixels (of the RGB frames, alpha dropped) that differ from the reference by more than 2 in a channel. */
function mismatches(got: Uint8Array, want: Uint8Array): number {
  let bad = 0;
  for (let p = 0; p < S * S; p++) {
    const a = want[p * 4 + 3]!;
    for (let c = 0; c < 3; c++) {
      if (Math.abs(got[p * 3 + c]! - (a === 0 ? 0 : want[p * 4 + c]!)) > 2) {
        bad++;
        break;
      }
    }
  }
  return bad;
}

async function checkComposed(file: Buffer, used: TestFrame[]): Promise<void> {
  const anim = await decodeAnimation(file, identity);
  const want = composeReference(S, S, used);
  assert.equal(anim.frames.length, used.length);
  assert.equal(anim.notice, null);
  for (let i = 0; i < used.length; i++) assert.equal(mismatches(anim.base.pixels[i]!, want[i]!), 0, `frame ${i} differs from the browser composition`);
}

describe('animation frames are composed like a browser does', () => {
  it('GIF: sub-rectangles, transparency, disposal none / background / previous', async () => {
    await checkComposed(encodeGif(S, S, frames), frames);
  });

  it('WebP: blending over / source and dispose to background', async () => {
    // WebP has no "restore previous"; one frame replaces (no blending) a half-transparent rectangle.
    const half = solid(12, 12, [0, 0, 250]).map((v, i) => (i % 4 === 3 ? 128 : v));
    const used: TestFrame[] = [
      frames[0]!,
      frames[1]!,
      { x: 4, y: 4, width: 12, height: 12, rgba: half, delayMs: 100, dispose: 'none', blend: 'source' },
      { x: 20, y: 10, width: 12, height: 8, rgba: solid(12, 8, [200, 200, 0], [0, 0, 6, 4]), delayMs: 100, dispose: 'none', blend: 'over' },
      { x: 30, y: 30, width: 8, height: 8, rgba: half.subarray(0, 8 * 8 * 4), delayMs: 100, dispose: 'none', blend: 'over' },
    ];
    await checkComposed(await encodeWebp(S, S, used), used);
  });

  it('APNG: blend source / over (with partial alpha), dispose none / background / previous', async () => {
    const half = solid(12, 12, [0, 0, 250]).map((v, i) => (i % 4 === 3 ? 128 : v));
    const used: TestFrame[] = [...frames.slice(0, 3), { x: 20, y: 20, width: 12, height: 12, rgba: half, delayMs: 100, dispose: 'none', blend: 'over' }, { ...frames[4]!, blend: 'source' }];
    await checkComposed(encodeApng(S, S, used), used);
    // sharp alone shows only the default image of an APNG: it is the composition here that animates it
    assert.equal((await sharp(encodeApng(S, S, used)).metadata()).pages ?? 1, 1);
  });

  it('APNG whose default image is not part of the animation', async () => {
    const file = encodeApng(S, S, frames, { hiddenDefault: solid(S, S, [255, 255, 255]) });
    await checkComposed(file, frames);
  });
});

describe('animation timestamps', () => {
  it('delays under 20 ms are shown for 100 ms, as browsers do', () => {
    assert.deepEqual([0, 10, 19, 20, 21, 2000].map(effectiveDelayMs), [100, 100, 100, 20, 21, 2000]);
  });

  it('frame start times add up the effective delays', async () => {
    const anim = await decodeAnimation(encodeGif(S, S, frames), identity);
    assert.deepEqual(anim.frames.map((f) => f.declaredDelayMs), [100, 250, 0, 10, 2000]);
    assert.deepEqual(anim.frames.map((f) => f.startMs), [0, 100, 350, 450, 550]);
    assert.equal(anim.durationMs, 2550);
  });
});

describe('bad animations', () => {
  it('a single-frame GIF is not an animation (it is decoded as a photo)', async () => {
    const still = encodeGif(S, S, frames.slice(0, 1));
    assert.equal(await animationInfo(still), null);
    await assert.rejects(decodeAnimation(still, identity), (e: unknown) => e instanceof PhotoError && e.code === 'unsupported_format');
  });

  it('a truncated GIF yields its complete frames and a notice', async () => {
    const file = encodeGif(S, S, frames);
    const cut = file.subarray(0, file.length - 200);
    const anim = await decodeAnimation(cut, identity);
    assert.ok(anim.frames.length >= 1 && anim.frames.length < frames.length, `${anim.frames.length} frames`);
    assert.match(anim.notice ?? '', /truncated/);
  });

  it('a truncated APNG yields its complete frames and a notice', async () => {
    const file = encodeApng(S, S, frames);
    const anim = await decodeAnimation(file.subarray(0, file.length - 60), identity);
    assert.ok(anim.frames.length >= 1 && anim.frames.length < frames.length);
    assert.match(anim.notice ?? '', /truncated/);
  });

  it('a truncated animated WebP is refused or read up to its last complete frame, never a crash', async () => {
    const file = await encodeWebp(S, S, frames.map((f) => (f.dispose === 'previous' ? { ...f, dispose: 'none' as const } : f)));
    for (const cut of [file.length - 10, Math.floor(file.length * 0.6)]) {
      try {
        const anim = await decodeAnimation(file.subarray(0, cut), identity);
        assert.ok(anim.frames.length >= 1 && anim.frames.length <= frames.length);
        if (anim.frames.length < frames.length) assert.ok(anim.notice);
      } catch (e) {
        assert.ok(e instanceof PhotoError && (e.code === 'truncated' || e.code === 'decode_failed'), String(e));
        assert.match(e.message, /cannot read the animation/);
      }
    }
  });

  it('videos get a clear "video needs ffmpeg" error', async () => {
    const mp4 = Buffer.concat([Buffer.from([0, 0, 0, 24]), Buffer.from('ftypisom', 'latin1'), Buffer.alloc(200, 7)]);
    const webm = Buffer.concat([Buffer.from([0x1a, 0x45, 0xdf, 0xa3]), Buffer.alloc(200, 7)]);
    for (const [bytes, kind] of [[mp4, 'MP4'], [webm, 'WebM']] as const) {
      await assert.rejects(decodePhoto(bytes, identity), (e: unknown) => e instanceof PhotoError && e.code === 'unsupported_format' && e.message.includes(kind) && /video needs ffmpeg/.test(e.message));
    }
  });

  it('10,000 frames: bounded work, a truncation notice', async () => {
    const tiny: TestFrame[] = Array.from({ length: 10_000 }, (_, i) => ({ x: 0, y: 0, width: 8, height: 8, rgba: solid(8, 8, [i % 256, 0, 0]), delayMs: 0, dispose: 'none' as const, blend: 'over' as const }));
    const file = encodeGif(8, 8, tiny);
    const anim = await decodeAnimation(file, identity, { maxFrames: 300 });
    assert.equal(anim.declaredFrames, 10_000);
    assert.equal(anim.frames.length, 300);
    assert.match(anim.notice ?? '', /first 300 of 10000 frames/);
    assert.equal(anim.durationMs, 300 * 100);
  });

  it('a huge canvas is refused from the header, before decoding', async () => {
    // An APNG header claiming 8000 x 8000 (the frame data is tiny): refused without composing anything.
    const head = encodeApng(8000, 8000, frames.slice(0, 2));
    await assert.rejects(decodeAnimation(head, identity), (e: unknown) => e instanceof PhotoError && e.code === 'too_many_pixels' && /8000x8000/.test(e.message));
    // A GIF over a (lowered) canvas limit.
    await assert.rejects(decodeAnimation(encodeGif(S, S, frames), identity, { maxCanvasPixels: 1000 }), (e: unknown) => e instanceof PhotoError && e.code === 'too_many_pixels');
  });

  it('frame tensors are the model input of each composed frame', async () => {
    const anim = await decodeAnimation(encodeGif(S, S, frames), identity);
    const t = frameTensor(anim, 0, identity);
    assert.equal(t.length, 3 * S * S);
    assert.equal(t[0], 200); // red plane, first pixel
    assert.equal(t[S * S], 0);
  });
});
