// Keyframe selection as math (fast-check): scenes with distinct embeddings are found to the frame, whatever
// the delays and cut positions; work never exceeds the budget; at most K keyframes, starting at frame 0.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { effectiveDelayMs, type AnimationFrame } from '../../src/vision/animation.js';
import { frameAt, selectKeyframes } from '../../src/vision/keyframes.js';

function timed(delays: number[]): AnimationFrame[] {
  let t = 0;
  return delays.map((d, index) => {
    const f = { index, startMs: t, durationMs: effectiveDelayMs(d), declaredDelayMs: d };
    t += f.durationMs;
    return f;
  });
}

/** A unit embedding per scene (orthogonal: cosine distance 1 between scenes), with a little per-frame jitter. */
function embedder(sceneOf: (frame: number) => number, dims = 16) {
  const calls: number[][] = [];
  const embed = async (indices: number[]) => {
    calls.push(indices);
    return indices.map((f) => {
      const e = new Float32Array(dims);
      e[sceneOf(f) % dims] = 1;
      e[(sceneOf(f) + 1) % dims] = 0.05 * ((f % 3) - 1);
      let n = 0;
      for (const v of e) n += v * v;
      return { embedding: e.map((v) => v / Math.sqrt(n)) };
    });
  };
  return { embed, calls };
}

const animation = fc
  .record({
    delays: fc.array(fc.integer({ min: 0, max: 2000 }), { minLength: 2, maxLength: 400 }),
    cutFractions: fc.uniqueArray(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 5 }),
  })
  .map(({ delays, cutFractions }) => {
    const cuts = [...new Set(cutFractions.map((c) => 1 + Math.floor(c * (delays.length - 1))))].filter((c) => c > 0 && c < delays.length).sort((a, b) => a - b);
    return { delays, cuts };
  });

describe('keyframes by time and change', () => {
  it('finds every scene cut exactly, within budget, with at most K keyframes', async () => {
    await fc.assert(
      fc.asyncProperty(animation, async ({ delays, cuts }) => {
        const frames = timed(delays);
        const sceneOf = (f: number) => cuts.filter((c) => c <= f).length;
        const { embed, calls } = embedder(sceneOf);
        const r = await selectKeyframes(frames, embed, { maxKeyframes: 16 });
        assert.deepEqual(r.changes, cuts);
        assert.ok(r.inferences <= 64);
        assert.equal(calls.flat().length, r.inferences);
        assert.ok(r.keyframes.length <= 16);
        assert.equal(r.keyframes[0]!.frame, 0);
        for (let i = 1; i < r.keyframes.length; i++) assert.ok(r.keyframes[i]!.frame > r.keyframes[i - 1]!.frame);
        for (const c of cuts) assert.ok(r.keyframes.some((k) => k.frame === c && k.reason === 'change'));
        for (const k of r.keyframes) assert.equal(k.startMs, frames[k.frame]!.startMs);
      }),
      { numRuns: 150 },
    );
  });

  it('never embeds more frames than the budget, however many changes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 2, max: 2000 }), fc.integer({ min: 2, max: 12 }), async (n, k) => {
        const frames = timed(Array.from({ length: n }, () => 40));
        const { embed } = embedder((f) => f); // every frame a new scene: worst case
        const r = await selectKeyframes(frames, embed, { maxKeyframes: k, maxInferences: 2 * k });
        assert.ok(r.inferences <= 2 * k, `${r.inferences} inferences`);
        assert.ok(r.keyframes.length <= k);
      }),
      { numRuns: 60 },
    );
  });

  it('frameAt is the frame on screen at a time', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 3000 }), { minLength: 1, maxLength: 200 }), fc.double({ min: 0, max: 1, noNaN: true }), (delays, x) => {
        const frames = timed(delays);
        const end = frames[frames.length - 1]!.startMs + frames[frames.length - 1]!.durationMs;
        const t = x * (end - 1);
        const f = frameAt(frames, t);
        assert.ok(frames[f]!.startMs <= t && t < frames[f]!.startMs + frames[f]!.durationMs);
      }),
    );
  });
});
