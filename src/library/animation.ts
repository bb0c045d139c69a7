// One animation through recognition: frames composed and timed (vision/animation), keyframes chosen by time
// and change and embedded in batches through the engine (vision/keyframes), the concept timeline and the
// animation's overall analysis (taxonomy/timeline), and WebP thumbnails of the keyframes for the strip.
import { decodeAnimation, frameTensor, frameThumbnail, type AnimationLimits, type DecodedAnimation } from '../vision/animation.js';
import type { Prediction } from '../vision/engine.js';
import { selectKeyframes, type KeyframeOptions } from '../vision/keyframes.js';
import type { InputSpec } from '../vision/manifest.js';
import type { AnalyzeOptions } from '../taxonomy/analysis.js';
import { buildTimeline, type Timeline } from '../taxonomy/timeline.js';
import type { PhotoAnalysis } from './analysis.js';

export { animationInfo } from '../vision/animation.js';
export type { Timeline, TimelineSegment, TimelineKeyframe } from '../taxonomy/timeline.js';

/** Longest side of the keyframe thumbnails shown in the strip. */
export const KEYFRAME_THUMB_SIZE = 160;

export interface AnimationAnalysis {
  animation: DecodedAnimation;
  timeline: Timeline;
  /** The whole animation: labels weighted by time on screen, node scores the best of any scene. */
  analysis: PhotoAnalysis;
  /** Time-weighted class probabilities of the whole animation. */
  probs: Float32Array;
  /** Frames run through the model. */
  inferences: number;
  /** WebP thumbnails of the timeline's keyframes (longest side KEYFRAME_THUMB_SIZE), when asked for. */
  keyframeThumbnails?: Buffer[];
}

export interface AnalyzeAnimationOptions {
  spec: InputSpec;
  /** Runs model inputs through the engine (one batch per call), e.g. `(t) => engine.run(t)`. */
  run: (tensors: Float32Array[]) => Promise<Prediction[]>;
  analyze: AnalyzeOptions;
  keyframes?: KeyframeOptions;
  limits?: AnimationLimits;
  /** Make a WebP thumbnail of each keyframe (for the strip). */
  keyframeThumbnails?: boolean;
}

/** Animations decoded at once per process (each holds up to 64 MiB of frames, released when it is done): bounds memory under load. */
export const MAX_ANIMATIONS_IN_FLIGHT = 2;
let inFlight = 0;
const waiting: Array<() => void> = [];

async function slot<T>(work: () => Promise<T>): Promise<T> {
  while (inFlight >= MAX_ANIMATIONS_IN_FLIGHT) await new Promise<void>((r) => waiting.push(r));
  inFlight++;
  try {
    return await work();
  } finally {
    inFlight--;
    waiting.shift()?.();
  }
}

export function analyzeAnimation(input: string | Buffer, opts: AnalyzeAnimationOptions): Promise<AnimationAnalysis> {
  return slot(() => analyzeOne(input, opts));
}

async function analyzeOne(input: string | Buffer, opts: AnalyzeAnimationOptions): Promise<AnimationAnalysis> {
  const animation = await decodeAnimation(input, opts.spec, opts.limits);
  const picked = await selectKeyframes(animation.frames, (indices) => opts.run(indices.map((i) => frameTensor(animation, i, opts.spec))), opts.keyframes);
  const { timeline, analysis, probs } = buildTimeline(
    { frames: animation.frames, declaredFrames: animation.declaredFrames, notice: animation.notice, evaluated: picked.evaluated, changes: picked.changes, keyframes: picked.keyframes },
    opts.analyze,
  );
  const keyframeThumbnails = opts.keyframeThumbnails
    ? await Promise.all(timeline.keyframes.map(async (k) => (await frameThumbnail(animation, k.frame, KEYFRAME_THUMB_SIZE)).webp))
    : undefined;
  animation.base.pixels = []; // the frames are done with: release them before the next animation starts
  return { animation, timeline, analysis, probs, inferences: picked.inferences, keyframeThumbnails };
}
