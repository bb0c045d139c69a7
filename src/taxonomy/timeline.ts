// An animation's concept timeline: its keyframes' predictions grouped into scenes (segments split where the
// embedding changed), each scene judged like a photo (mean of its keyframes' probabilities), and the whole
// animation judged by the scenes weighted by their time on screen. Node scores of an animation are each
// synset's best over its scenes and the whole, so a dog on screen for one second of ten still puts the
// animation on the dog page and in a search for dogs.
import type { Keyframe } from '../vision/keyframes.js';
import { analyzePrediction, type AnalyzeOptions, type PredictionInput } from './analysis.js';
import type { HedgedLabel, Label, NodeScore, PhotoAnalysis } from './photo-analysis.js';

export interface TimelineSegment {
  start_ms: number;
  end_ms: number;
  /** First frame of the segment. */
  frame: number;
  labels: Label[];
  hedged: HedgedLabel | null;
  /** Everyday tags (empty until the tag heads judge animations). */
  tags: string[];
}

export interface TimelineKeyframe {
  frame: number;
  t_ms: number;
  reason: Keyframe['reason'];
  /** Thumbnail file name relative to the media dir, once stored. */
  thumb?: string | null;
}

/** What is stored and shown for an animation besides its overall analysis. */
export interface Timeline {
  duration_ms: number;
  /** Frames read (and declared by the file, when more). */
  frames: number;
  declared_frames: number;
  keyframes: TimelineKeyframe[];
  segments: TimelineSegment[];
  /** Why some frames were left out (limits, truncation), or null. */
  notice: string | null;
}

export interface TimelineInput {
  frames: ReadonlyArray<{ startMs: number; durationMs: number }>;
  declaredFrames: number;
  notice: string | null;
  /** Embedded frames with their predictions. */
  evaluated: ReadonlyMap<number, PredictionInput & { embedding: Float32Array }>;
  /** First frames of every scene after the first. */
  changes: number[];
  keyframes: Keyframe[];
}

function meanOf(vectors: Float32Array[], weights: number[]): Float32Array {
  const out = new Float32Array(vectors[0]!.length);
  const total = weights.reduce((a, b) => a + b, 0) || 1;
  vectors.forEach((v, k) => {
    const w = weights[k]! / total;
    for (let i = 0; i < v.length; i++) out[i] += v[i]! * w;
  });
  return out;
}

function unit(v: Float32Array): Float32Array {
  let ss = 0;
  for (const x of v) ss += x * x;
  const n = Math.sqrt(ss);
  if (n > 0) for (let i = 0; i < v.length; i++) v[i]! /= n;
  return v;
}

/** The timeline and the animation's overall analysis (labels weighted by time on screen). */
export function buildTimeline(input: TimelineInput, opts: AnalyzeOptions): { timeline: Timeline; analysis: PhotoAnalysis; probs: Float32Array } {
  const { frames } = input;
  const last = frames[frames.length - 1]!;
  const duration = last.startMs + last.durationMs;
  const starts = [0, ...[...new Set(input.changes)].filter((c) => c > 0).sort((a, b) => a - b)];
  const evaluated = [...input.evaluated.entries()].sort((a, b) => a[0] - b[0]);
  const model = evaluated[0]?.[1].model ?? opts.model;

  const segments: TimelineSegment[] = [];
  const segProbs: Float32Array[] = [];
  const segEmb: Float32Array[] = [];
  const segTime: number[] = [];
  const analyses: PhotoAnalysis[] = [];
  starts.forEach((start, s) => {
    const end = starts[s + 1] ?? frames.length;
    const members = evaluated.filter(([f]) => f >= start && f < end).map(([, p]) => p);
    if (members.length === 0) return; // cannot happen: every change is an evaluated frame
    const probs = meanOf(
      members.map((m) => m.probs),
      members.map(() => 1),
    );
    const embedding = unit(
      meanOf(
        members.map((m) => m.embedding),
        members.map(() => 1),
      ),
    );
    const a = analyzePrediction({ probs, embedding, model }, opts);
    const start_ms = frames[start]!.startMs;
    const end_ms = end < frames.length ? frames[end]!.startMs : duration;
    segments.push({ start_ms, end_ms, frame: start, labels: a.labels, hedged: a.hedged, tags: [] });
    segProbs.push(probs);
    segEmb.push(embedding);
    segTime.push(end_ms - start_ms);
    analyses.push(a);
  });

  const probs = meanOf(segProbs, segTime);
  const overall = analyzePrediction({ probs, embedding: unit(meanOf(segEmb, segTime)), model }, opts);
  const best = new Map<string, number>();
  for (const a of [overall, ...analyses]) for (const n of a.nodeScores) best.set(n.wnid, Math.max(best.get(n.wnid) ?? 0, n.score));
  const nodeScores: NodeScore[] = [...best.entries()].map(([wnid, score]) => ({ wnid, score })).sort((a, b) => b.score - a.score || (a.wnid < b.wnid ? -1 : 1));

  const timeline: Timeline = {
    duration_ms: duration,
    frames: frames.length,
    declared_frames: input.declaredFrames,
    keyframes: input.keyframes.map((k) => ({ frame: k.frame, t_ms: k.startMs, reason: k.reason })),
    segments,
    notice: input.notice,
  };
  return { timeline, analysis: { ...overall, nodeScores }, probs };
}
