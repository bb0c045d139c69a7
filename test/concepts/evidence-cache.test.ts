// The training evidence cache: augmented copies (mirror, central crop) of real photos, and detections computed
// once per file list (a second call reads the cache; a changed file list recomputes).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import sharp from 'sharp';
import { augmentedBytes, detectFilesCached } from '../../src/concepts/evidence-cache.js';
import type { FaceDetector } from '../../src/vision/faces/detector.js';
import { photosDir, tempHome } from '../support/env.js';

const photo = join(photosDir, 'kpa_bar-couple-1.jpg');

describe('training evidence cache', () => {
  const home = tempHome('pictograph-evidence-');
  after(() => home.cleanup());

  it('flip mirrors the photo; crop keeps its central 80%', async () => {
    const original = await sharp(photo).rotate().raw().toBuffer({ resolveWithObject: true });
    const flipped = await sharp(await augmentedBytes(photo, 'flip')).raw().toBuffer({ resolveWithObject: true });
    assert.equal(flipped.info.width, original.info.width);
    assert.equal(flipped.info.height, original.info.height);
    // A mirrored row matches the original read backwards (JPEG re-encoding: close, not exact).
    const { width, channels } = original.info;
    const y = Math.floor(original.info.height / 2);
    let diff = 0;
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < channels; c++) diff += Math.abs(original.data[(y * width + x) * channels + c] - flipped.data[(y * width + (width - 1 - x)) * channels + c]);
    }
    assert.ok(diff / (width * channels) < 12, `mean difference ${diff / (width * channels)}`);
    const crop = await sharp(await augmentedBytes(photo, 'crop')).metadata();
    assert.equal(crop.width, Math.round(width * 0.8));
    assert.equal(crop.height, Math.round(original.info.height * 0.8));
  });

  it('detections are computed once and read back from the cache; a photo without faces is also looked at turned', async () => {
    let calls = 0;
    let turnedLooks = 0;
    const fake = {
      name: 'fake-1',
      detect: async (_file: string, opts: { wantTurn?: unknown } = {}) => {
        calls++;
        if (opts.wantTurn) turnedLooks++;
        // no face upright; turned, the detector finds one (as for a photo stored sideways)
        const face = { box: [1, 1, 4, 4], boxScore: 0.9, meshScore: 0.95, landmarks: [], pose: { yaw: 0, pitch: 0, roll: 0 }, personScore: 0, embedding: null };
        return opts.wantTurn
          ? { faces: [face], persons: [], bodies: true, width: 10, height: 20, ms: 1, turn: 90 }
          : { faces: [], persons: [{ box: [1, 2, 3, 4], score: 0.9, area: 0.5 }], bodies: true, width: 10, height: 20, ms: 1, turn: 0 };
      },
    } as unknown as FaceDetector;
    const a = await detectFilesCached([photo], fake, { env: home.env });
    const b = await detectFilesCached([photo], fake, { env: home.env });
    assert.equal(calls, 2);
    assert.equal(turnedLooks, 1);
    assert.deepEqual(a, b);
    assert.deepEqual(a[0], {
      faces: [],
      persons: [{ box: [1, 2, 3, 4], score: 0.9, area: 0.5 }],
      bodies: true,
      width: 10,
      height: 20,
      turned: { faces: [{ box: [1, 1, 4, 4], boxScore: 0.9, meshScore: 0.95, landmarks: [], pose: { yaw: 0, pitch: 0, roll: 0 }, personScore: 0, embedding: null }], persons: [], bodies: true, width: 10, height: 20, turn: 90 },
    });
    await detectFilesCached([photo, join(photosDir, 'gcompris_meerkats.jpg')], fake, { env: home.env });
    assert.equal(calls, 6);
  });
});
