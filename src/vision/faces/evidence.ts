// Raw detector output -> face candidates and person boxes in the original photo's pixels, with the evidence
// each carries (detector box score, mesh confidence, pose, size, whether a person body surrounds it). Pure.
import type { RawFace, RawObject } from './worker.js';

export type Box = [x: number, y: number, w: number, h: number];

export interface DetectedFace {
  /** [x, y, w, h] in original pixels after EXIF orientation. */
  box: Box;
  /** BlazeFace's box score. */
  boxScore: number;
  /** FaceMesh's confidence that the crop holds a face (high on many animal faces too). */
  meshScore: number;
  /** Right eye, left eye, nose tip, mouth right, mouth left, original pixels. */
  landmarks: Array<[number, number]>;
  /** Head pose in radians. */
  pose: { yaw: number; pitch: number; roll: number };
  /** Best score of a COCO person box that contains the face's centre (0 when none). */
  personScore: number;
  /** FaceRes descriptor (1024-d, unit length) or null when embeddings are off. */
  embedding: Float32Array | null;
}

export interface DetectedPerson {
  box: Box;
  score: number;
  /** Box area over image area. */
  area: number;
}

const inside = (px: number, py: number, b: Box): boolean => px >= b[0] && px <= b[0] + b[2] && py >= b[1] && py <= b[1] + b[3];

function unit(v: number[] | null): Float32Array | null {
  if (!v || v.length === 0) return null;
  let n = 0;
  for (const x of v) n += x * x;
  n = Math.sqrt(n) || 1;
  return Float32Array.from(v, (x) => x / n);
}

const r1 = (x: number): number => Math.round(x * 10) / 10;

/** Scales detections from the detector's image (width x height) to the original (factor `scale`). */
export function judgeDetections(
  faces: RawFace[],
  objects: RawObject[],
  width: number,
  height: number,
  scale: number,
): { faces: DetectedFace[]; persons: DetectedPerson[] } {
  const persons: DetectedPerson[] = objects
    .filter((o) => o.label === 'person')
    .map((o) => ({ box: o.box, score: o.score, area: (o.box[2] * o.box[3]) / Math.max(1, width * height) }))
    .sort((a, b) => b.score - a.score);
  const out: DetectedFace[] = faces.map((f) => {
    const cx = f.box[0] + f.box[2] / 2;
    const cy = f.box[1] + f.box[3] / 2;
    const personScore = persons.filter((p) => inside(cx, cy, p.box)).reduce((m, p) => Math.max(m, p.score), 0);
    return {
      box: f.box.map((v) => r1(v * scale)) as Box,
      boxScore: f.boxScore,
      meshScore: f.meshScore,
      landmarks: f.landmarks.map(([x, y]) => [r1(x * scale), r1(y * scale)] as [number, number]),
      pose: { yaw: f.yaw, pitch: f.pitch, roll: f.roll },
      personScore,
      embedding: unit(f.embedding),
    };
  });
  out.sort((a, b) => b.boxScore - a.boxScore);
  return { faces: out, persons: persons.map((p) => ({ ...p, box: p.box.map((v) => r1(v * scale)) as Box })) };
}
