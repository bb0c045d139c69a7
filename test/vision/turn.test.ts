// Quarter turns of the detector's image and the way back: a pixel marked in an image, turned by libvips, found
// in the turned image and mapped back with unturnPoint / unturnBox lands where it was (property test).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { TURNS, turnImage, unturnBox, unturnPoint, uprightTurn, type Turn } from '../../src/vision/faces/turn.js';

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

test('a face turned by any quarter gets the turn that shows it upright; a tilted head keeps its tilt', () => {
  // an upright face's eyes: the person's right eye on the image's left, a little tilt allowed
  fc.assert(
    fc.property(fc.double({ min: -40, max: 40, noNaN: true }), fc.constantFrom<Turn>(0, ...TURNS), fc.double({ min: 5, max: 200, noNaN: true }), (tilt, turn, span) => {
      const a = (tilt * Math.PI) / 180;
      const eyes: Array<[number, number]> = [[500, 500], [500 + span * Math.cos(a), 500 + span * Math.sin(a)]];
      // the photo turned clockwise by `turn` (a 1000 x 1000 image: unturning by the opposite turn turns it)
      const back = ((360 - turn) % 360) as Turn;
      const turned = eyes.map((p) => unturnPoint(p, back, 1000, 1000));
      assert.equal(uprightTurn(turned), back);
    }),
  );
  assert.equal(uprightTurn([]), 0);
});
