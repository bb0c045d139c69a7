// Keyframes of an animation, chosen by time and by change: frames sampled at a steady interval (and the last
// one) are embedded in one batch; wherever two neighbouring samples' embeddings are further apart than a
// threshold (cosine distance), the frames between them are bisected, one batched round at a time, until the
// change is pinned to two adjacent frames. So a cut is found to the frame with about log2(frames) extra
// inferences per cut, and the total work is bounded. (A change that reverts between two samples that look
// alike is not seen: sampling resolution.)
import type { AnimationFrame } from './animation.js';

export interface KeyframeOptions {
  /** Keyframes returned at most (K; default 16). */
  maxKeyframes?: number;
  /** Sampling interval (default 1000 ms; widened so that samples stay within K / 2). */
  intervalMs?: number;
  /** Cosine distance of embeddings that counts as a change (default 0.2: frames of one photo with motion and GIF colours stay under 0.07; two different photos are 0.27 apart at the least, 0.5 typically). */
  threshold?: number;
  /** Frames embedded at most, samples and bisection together (default 4 K). */
  maxInferences?: number;
}

export const DEFAULT_KEYFRAME_OPTIONS = { maxKeyframes: 16, intervalMs: 1000, threshold: 0.2 } as const;

export interface Keyframe {
  frame: number;
  startMs: number;
  /** 'start' (frame 0), 'change' (first frame after a change), or 'time' (a steady sample). */
  reason: 'start' | 'change' | 'time';
}

export interface KeyframeResult<P> {
  /** Every frame embedded, by index (samples and bisection probes). */
  evaluated: Map<number, P>;
  /** First frames of the scenes after the first: where the embedding moved further than the threshold. */
  changes: number[];
  keyframes: Keyframe[];
  /** Frames embedded. */
  inferences: number;
}

/** 1 - cosine similarity of two unit-length vectors. */
export function cosineDistance(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  for (let i = 0; i < a.length; i++) dot += a[i]! * b[i]!;
  return 1 - dot;
}

/** The frame on screen at time `t` (binary search over start times). */
export function frameAt(frames: readonly AnimationFrame[], t: number): number {
  let lo = 0;
  let hi = frames.length - 1;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (frames[mid]!.startMs <= t) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/**
 * Chooses and embeds keyframes. `embed(indices)` embeds frames in one batch (through the engine) and returns
 * one result per index, in order.
 */
export async function selectKeyframes<P extends { embedding: Float32Array }>(
  frames: readonly AnimationFrame[],
  embed: (indices: number[]) => Promise<P[]>,
  opts: KeyframeOptions = {},
): Promise<KeyframeResult<P>> {
  if (frames.length === 0) throw new RangeError('an animation needs at least one frame');
  const K = Math.max(2, opts.maxKeyframes ?? DEFAULT_KEYFRAME_OPTIONS.maxKeyframes);
  const threshold = opts.threshold ?? DEFAULT_KEYFRAME_OPTIONS.threshold;
  const budget = Math.max(K, opts.maxInferences ?? 4 * K);
  const last = frames[frames.length - 1]!;
  const duration = last.startMs + last.durationMs;
  const step = Math.max(opts.intervalMs ?? DEFAULT_KEYFRAME_OPTIONS.intervalMs, duration / Math.max(1, Math.floor(K / 2)));

  const samples = new Set<number>([0, frames.length - 1]);
  for (let t = step; t < duration && samples.size < Math.floor(K / 2) + 1; t += step) samples.add(frameAt(frames, t));
  const timeSamples = [...samples].sort((a, b) => a - b);

  const evaluated = new Map<number, P>();
  let inferences = 0;
  const run = async (indices: number[]): Promise<void> => {
    const out = await embed(indices);
    if (out.length !== indices.length) throw new Error(`embed returned ${out.length} results for ${indices.length} frames`);
    indices.forEach((f, i) => evaluated.set(f, out[i]!));
    inferences += indices.length;
  };
  await run(timeSamples);

  const far = (a: number, b: number): boolean => cosineDistance(evaluated.get(a)!.embedding, evaluated.get(b)!.embedding) > threshold;
  // Bisect every unresolved change, one batched round at a time, while the budget lasts.
  for (;;) {
    const order = [...evaluated.keys()].sort((a, b) => a - b);
    const probes: number[] = [];
    for (let i = 0; i + 1 < order.length && inferences + probes.length < budget; i++) {
      const a = order[i]!;
      const b = order[i + 1]!;
      if (b - a > 1 && far(a, b)) probes.push(Math.floor((a + b) / 2));
    }
    if (probes.length === 0) break;
    await run(probes);
  }

  const order = [...evaluated.keys()].sort((a, b) => a - b);
  const changes: number[] = [];
  for (let i = 0; i + 1 < order.length; i++) if (far(order[i]!, order[i + 1]!)) changes.push(order[i + 1]!);

  // Keyframes: the start, every change (first come first), then steady samples, at most K.
  const chosen = new Map<number, Keyframe['reason']>([[0, 'start']]);
  for (const c of changes) if (chosen.size < K) chosen.set(c, 'change');
  for (const s of timeSamples) if (chosen.size < K && !chosen.has(s)) chosen.set(s, 'time');
  const keyframes = [...chosen.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([frame, reason]) => ({ frame, startMs: frames[frame]!.startMs, reason }));
  return { evaluated, changes, keyframes, inferences };
}
