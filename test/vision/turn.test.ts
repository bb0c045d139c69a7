// Quarter turns of the detector's image and the way back: a pixel marked in an image, turned by libvips, found
// in the turned image and mapped back with unturnPoint / unturnBox lands where it was (property test).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { TURNS, turnImage, unturnBox, unturnPoint, type Turn } from '../../src/vision/faces/turn.js';

test('a marked pixel turned by libvips comes back to its place', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 9 }),
      fc.integer({ min: 1, max: 9 }),
      fc.nat(),
      fc.constantFrom<Turn>(0, ...TURNS),
      async (width, height, at, turn) => {
        const [x, y] = [at % width, Math.floor(at / width) % height];
        const rgb = Buffer.alloc(width * height * 3);
        rgb[(y * width + x) * 3] = 255;
        const turned = await turnImage({ rgb, width, height }, turn);
        assert.deepEqual([turned.width, turned.height], turn === 90 || turn === 270 ? [height, width] : [width, height]);
        const i = turned.rgb.indexOf(255) / 3;
        const [u, v] = [i % turned.width, Math.floor(i / turned.width)];
        assert.deepEqual(unturnPoint([u + 0.5, v + 0.5], turn, width, height), [x + 0.5, y + 0.5]);
        // The pixel's box [u, v, 1, 1] comes back as the pixel's box.
        assert.deepEqual(unturnBox([u, v, 1, 1], turn, width, height), [x, y, 1, 1]);
      },
    ),
    { numRuns: 120 },
  );
});

test('a box keeps its area and swaps its sides on a quarter turn', () => {
  fc.assert(
    fc.property(fc.double({ min: 0, max: 50, noNaN: true }), fc.double({ min: 0, max: 50, noNaN: true }), fc.double({ min: 0, max: 50, noNaN: true }), fc.double({ min: 0, max: 50, noNaN: true }), fc.constantFrom<Turn>(...TURNS), (x, y, w, h, turn) => {
      const [, , bw, bh] = unturnBox([x, y, w, h], turn, 100, 100);
      const quarter = turn !== 180;
      assert.ok(Math.abs(bw - (quarter ? h : w)) < 1e-9 && Math.abs(bh - (quarter ? w : h)) < 1e-9);
    }),
  );
});
