// Acceptance: animations generated from real photos (3-5 photos, delays from 0.02 s to 2 s, 0.5-60 fps, GIF,
// WebP and APNG) get a concept timeline whose every segment boundary is within one frame of the true change,
// and whose every segment's top label is the top label of its source photo classified alone.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { analyzeAnimation, type AnimationAnalysis } from '../../src/library/animation.js';
import { analyzePrediction } from '../../src/taxonomy/analysis.js';
import { loadTaxonomy, type Taxonomy } from '../../src/taxonomy/load.js';
import { decodePhoto } from '../../src/vision/decode.js';
import { Engine } from '../../src/vision/engine.js';
import { photosDir, repoRoot, tempHome } from '../support/env.js';
import { buildAnimation, type Scene } from '../support/photo-animations.js';

// Photos the model is sure about (top-1 >= 0.95), with different labels.
const PHOTOS = ['faces_bass-guitar.jpg', 'faces_hummingbird.jpg', 'faces_latte-art.jpg', 'faces_mount-fuji.jpg', 'faces_penguin.jpg', 'faces_plane-wing.jpg', 'faces_puppy.jpg'].map((f) => join(photosDir, f));

const rep = (n: number, ms: number): number[] => Array.from({ length: n }, () => ms);

const CASES: Array<{ name: string; format: 'gif' | 'webp' | 'apng'; scenes: Array<[number, number[]]> }> = [
  { name: 'GIF, 3 photos at 50 fps (0.02 s)', format: 'gif', scenes: [[0, rep(10, 20)], [1, rep(7, 20)], [2, rep(12, 20)]] },
  { name: 'GIF, 4 photos at 0.5 fps (2 s)', format: 'gif', scenes: [[3, rep(2, 2000)], [4, rep(3, 2000)], [5, rep(1, 2000)], [6, rep(2, 2000)]] },
  { name: 'WebP, 5 photos at 60 fps (16 ms, shown 100 ms)', format: 'webp', scenes: [[6, rep(6, 16)], [0, rep(9, 16)], [4, rep(4, 16)], [1, rep(7, 16)], [3, rep(5, 16)]] },
  { name: 'APNG, 3 photos, delays from 0.02 s to 2 s', format: 'apng', scenes: [[5, [20, 50, 2000]], [2, [100, 20, 20, 500, 40, 20, 20, 20, 20, 20, 20, 20]], [1, [2000, 20, 100, 500, 1000]]] },
  { name: 'GIF, 5 photos, 0 ms delays (shown 100 ms) and 1 s', format: 'gif', scenes: [[1, rep(4, 0)], [0, rep(3, 1000)], [3, rep(11, 0)], [4, [1000]], [2, rep(5, 0)]] },
];

/** What browsers show for a declared delay (GIF delays are in hundredths). */
const shown = (ms: number, gif: boolean): number => {
  const d = gif ? Math.round(ms / 10) * 10 : ms;
  return d < 20 ? 100 : d;
};

describe('concept timeline of animations made from real photos', () => {
  let engine: Engine;
  let taxonomy: Taxonomy;
  let home: ReturnType<typeof tempHome>;
  const alone = new Map<string, string>();

  before(async () => {
    home = tempHome();
    engine = await Engine.load({ env: home.env });
    taxonomy = await loadTaxonomy({ modelId: engine.model.id, env: home.env });
    const preds = await engine.run(await Promise.all(PHOTOS.map(async (p) => (await decodePhoto(p, engine.model.spec)).tensor)));
    PHOTOS.forEach((p, i) => alone.set(p, analyzePrediction(preds[i]!, taxonomy).labels[0]!.wnid));
    assert.equal(new Set(alone.values()).size, PHOTOS.length, 'the test photos have different top labels');
  });
  after(async () => {
    await engine?.close();
    home?.cleanup();
  });

  for (const c of CASES) {
    it(c.name, async () => {
      const scenes: Scene[] = c.scenes.map(([p, delaysMs]) => ({ photo: PHOTOS[p]!, delaysMs }));
      const built = await buildAnimation(scenes, c.format);
      const result: AnimationAnalysis = await analyzeAnimation(built.bytes, { spec: engine.model.spec.input, run: (t) => engine.run(t), analyze: taxonomy });
      const { timeline } = result;
      const durations = scenes.flatMap((s) => s.delaysMs.map((d) => shown(d, c.format === 'gif')));
      const starts = durations.map((_, i) => durations.slice(0, i).reduce((a, b) => a + b, 0));
      assert.equal(timeline.frames, built.frames);
      assert.equal(timeline.duration_ms, durations.reduce((a, b) => a + b, 0));
      assert.equal(timeline.segments.length, scenes.length, `segments at ${timeline.segments.map((s) => s.start_ms).join(', ')} ms`);
      timeline.segments.forEach((seg, k) => {
        const trueFrame = built.sceneStarts[k]!;
        const trueMs = starts[trueFrame]!;
        // within one frame of the true change: the frame before or after it
        const slack = Math.max(durations[trueFrame - 1] ?? 0, durations[trueFrame]!);
        assert.ok(Math.abs(seg.start_ms - trueMs) <= slack, `segment ${k} starts at ${seg.start_ms} ms, the change is at ${trueMs} ms`);
        assert.equal(seg.end_ms, k + 1 < scenes.length ? timeline.segments[k + 1]!.start_ms : timeline.duration_ms);
        assert.equal(seg.labels[0]!.wnid, alone.get(scenes[k]!.photo), `segment ${k}: ${seg.labels[0]!.name}`);
        assert.deepEqual(seg.tags, []);
      });
      // bounded: keyframes at most K, far fewer inferences than frames for long animations
      assert.ok(timeline.keyframes.length <= 16 && timeline.keyframes[0]!.frame === 0);
      assert.ok(result.inferences <= 64);
      // the whole animation's labels are its scenes' labels weighted by time: the top one is a scene's, and
      // the scene on screen longest is among them
      const longest = timeline.segments.reduce((a, b) => (b.end_ms - b.start_ms > a.end_ms - a.start_ms ? b : a));
      assert.ok(timeline.segments.some((s) => s.labels[0]!.wnid === result.analysis.labels[0]!.wnid));
      assert.ok(result.analysis.labels.some((l) => l.wnid === longest.labels[0]!.wnid));
      // every scene's label reaches the node scores (Fathom pages, search)
      for (const seg of timeline.segments) {
        const node = result.analysis.nodeScores.find((n) => n.wnid === seg.labels[0]!.wnid);
        assert.ok(node && node.score >= seg.labels[0]!.score - 1e-6, `${seg.labels[0]!.name} scores ${node?.score} for the animation`);
      }
    });
  }
});

describe('pictograph classify --json on an animation', () => {
  it('prints the timeline and the whole animation\'s labels; a single-frame GIF is a photo', async () => {
    const home = tempHome();
    try {
      const built = await buildAnimation(
        [
          { photo: PHOTOS[4]!, delaysMs: [500, 500, 500] },
          { photo: PHOTOS[6]!, delaysMs: [100, 100, 100, 100, 100] },
          { photo: PHOTOS[2]!, delaysMs: [1000] },
        ],
        'gif',
      );
      const anim = join(home.home, 'anim.gif');
      writeFileSync(anim, built.bytes);
      const still = join(home.home, 'still.gif');
      writeFileSync(still, (await buildAnimation([{ photo: PHOTOS[2]!, delaysMs: [100] }], 'gif')).bytes);
      const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', join(repoRoot, 'src', 'cli', 'main.ts'), 'classify', '--json', anim, still], { cwd: repoRoot, env: home.env });
      const [a, s] = stdout.trim().split('\n').map((l) => JSON.parse(l));
      assert.ok(a.labels.length === 5 && a.hedged !== undefined);
      assert.deepEqual(
        a.timeline.segments.map((x: { start_ms: number; end_ms: number }) => [x.start_ms, x.end_ms]),
        [[0, 1500], [1500, 2000], [2000, 3000]],
      );
      assert.equal(a.timeline.duration_ms, 3000);
      assert.equal(a.timeline.frames, 9);
      assert.equal(a.timeline.notice, null);
      assert.equal(s.timeline, undefined);
      assert.equal(s.labels[0].name, 'espresso');
    } finally {
      home.cleanup();
    }
  });
});
