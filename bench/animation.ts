// Animations: keyframes per second through the whole path (compose every frame, choose keyframes by time and
// change, batched inference, timeline), against photo classification (decode + inference) in the same run.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadavg } from 'node:os';
import { analyzeAnimation } from '../src/library/animation.js';
import { loadTaxonomy } from '../src/taxonomy/load.js';
import { decodePhoto } from '../src/vision/decode.js';
import { Engine } from '../src/vision/engine.js';
import { photosDir, tempHome } from '../test/support/env.js';
import { buildAnimation } from '../test/support/photo-animations.js';

export async function benchAnimation(opts: { animations?: number } = {}): Promise<Record<string, unknown>> {
  const home = tempHome('pictograph-bench-anim-');
  const engine = await Engine.load({ env: home.env });
  try {
    const taxonomy = await loadTaxonomy({ modelId: engine.model.id, env: home.env });
    const photos = readdirSync(photosDir).filter((f) => f.endsWith('.jpg')).sort().map((f) => join(photosDir, f));
    const n = opts.animations ?? 6;
    // Each animation: 4 photos, 10 frames each at 25 fps (40 ms), alternating GIF and WebP.
    const anims: Buffer[] = [];
    for (let i = 0; i < n; i++) {
      const scenes = [0, 1, 2, 3].map((k) => ({ photo: photos[(i * 4 + k) % photos.length]!, delaysMs: Array.from({ length: 10 }, () => 40) }));
      anims.push((await buildAnimation(scenes, i % 2 === 0 ? 'gif' : 'webp')).bytes);
    }
    const spec = engine.model.spec;
    // Photo classification: the same number of photos, decoded and classified in batches of 16.
    const photoSet = photos.slice(0, 64);
    await engine.run([(await decodePhoto(photoSet[0]!, spec)).tensor]); // warm-up
    const load0 = loadavg()[0];
    let t0 = performance.now();
    for (let i = 0; i < photoSet.length; i += 16) {
      const tensors = await Promise.all(photoSet.slice(i, i + 16).map(async (f) => (await decodePhoto(f, spec)).tensor));
      await engine.run(tensors);
    }
    const photoS = (performance.now() - t0) / 1000;
    const photosPerS = photoSet.length / photoS;

    let keyframes = 0;
    let inferences = 0;
    let frames = 0;
    let segments = 0;
    t0 = performance.now();
    for (const bytes of anims) {
      const a = await analyzeAnimation(bytes, { spec: spec.input, run: (t) => engine.run(t), analyze: taxonomy });
      keyframes += a.timeline.keyframes.length;
      inferences += a.inferences;
      frames += a.timeline.frames;
      segments += a.timeline.segments.length;
    }
    const animS = (performance.now() - t0) / 1000;
    // "Keyframes" here are all frames run through the model (samples and bisection probes): the unit of work
    // comparable to one photo; the timeline keeps a subset of them as its keyframe strip.
    const keyframesPerS = inferences / animS;
    return {
      animations: n,
      framesComposed: frames,
      framesPerAnimation: frames / n,
      scenesFound: segments,
      scenesTrue: 4 * n,
      inferencesPerAnimation: inferences / n,
      stripKeyframesPerAnimation: keyframes / n,
      animationsPerS: n / animS,
      keyframesPerS,
      framesComposedPerS: frames / animS,
      photosPerS,
      keyframesPerSOverPhotosPerS: keyframesPerS / photosPerS,
      loadAverageAtStart: load0,
    };
  } finally {
    await engine.close();
    home.cleanup();
  }
}
