// People from detection: which detected faces are human faces, and whether a photo shows a person, a group or a
// portrait. BlazeFace alone also fires on animal faces, statues and patterns, so a face counts only with a
// confident detector box AND a confident face mesh AND, when the ImageNet classifier sees an animal, a COCO
// person body around it. Bodies without a visible face count as people when big enough and confident.
// Kept in one module so the everyday `tags` (issue 10) can take person/group/portrait from here. Pure.
import type { CategoryScore, NodeScore, PhotoAnalysis, PhotoTag } from './photo-analysis.js';
import type { DetectedFace, DetectedPerson } from '../vision/faces/evidence.js';
import type { Hierarchy } from './hierarchy.js';

/** WordNet's person, individual, someone, somebody, mortal, soul. */
export const PERSON_WNID = 'n00007846';
/** animal, animate being, beast, brute, creature, fauna. */
export const ANIMAL_WNID = 'n00015388';

/** Thresholds, measured on ../shared/data/photos (see src/vision/README.md, "People"). */
export const PEOPLE_RULES = {
  /** BlazeFace box score a face needs. */
  faceBox: 0.6,
  /** FaceMesh confidence a face needs. */
  faceMesh: 0.85,
  /** Classifier's animal score above which a face needs a person body around it. */
  animal: 0.5,
  /** A person body alone: detector score and share of the image it covers. */
  bodyScore: 0.45,
  bodyArea: 0.04,
  /** People in a group. */
  group: 3,
  /** A portrait: at most this many faces, the largest at least this share of the image's shorter side. */
  portraitFaces: 2,
  portraitSide: 0.25,
} as const;

/**
 * When the face stage's result leaves the decision open, the COCO object detector looks for person bodies. It
 * costs about four times the face stage, so it runs only where its answer can change the tags (measured on
 * ../shared/data/photos, see src/vision/README.md, "People"): cues are the everyday heads' scores divided by
 * their calibrated thresholds (1 = at threshold).
 */
export const BODY_RULES = {
  /** No human face: look for bodies when the person cue reaches this. */
  personCue: 0.5,
  /** One or two faces: look for more people when the group cue reaches this. */
  groupCue: 0.5,
} as const;

/**
 * The face stage itself (BlazeFace, mesh, descriptor: about half the CPU the rest of ingest spends on a photo)
 * runs only on photos whose classification leaves room for people: the best of the everyday person / group /
 * portrait cues reaches `cue`. Chosen on out-of-fold head scores of the 439 shared real photos (src/vision/README.md, "People"): at
 * 0.25 it runs on 39% of them, every photo with a person tag still gets it, and the one face skipped is Mount
 * Rushmore's. Without an everyday head for the model every photo is looked at.
 */
export const FACE_RULES = {
  cue: 0.25,
} as const;

/**
 * Photos stored sideways or upside down with no EXIF orientation to say so (scans, old cameras, albums that keep the
 * turn in their own index) hide their faces from BlazeFace, which finds upright faces only. Where no face counts
 * yet the everyday `person` cue says people, the face stage looks again at the photo turned (a quarter either way,
 * then upside down). Chosen on out-of-fold head scores of the 439 shared real photos (src/vision/README.md,
 * "People"): with no face upright, 13 reach 0.8 (3% of photos, three face-stage runs each); the turns find faces in
 * the three of them stored turned (person cues 0.93-1.54) and in none of the others.
 */
export const TURN_RULES = {
  personCue: 0.8,
} as const;

/** What the classifier and the everyday heads say about people, for deciding whether to look for faces and bodies. */
export interface PeopleCues {
  /** The classifier's `animal` score. */
  animalScore: number;
  /** Everyday `person` / `group` / `portrait` head scores over their thresholds; null when no head is loaded. */
  personCue: number | null;
  groupCue: number | null;
  portraitCue: number | null;
}

/** Whether a face is confident enough to count at all (box and mesh): the first half of `isHumanFace`. */
export function faceCanCount(face: Pick<DetectedFace, 'boxScore' | 'meshScore'>): boolean {
  return face.boxScore >= PEOPLE_RULES.faceBox && face.meshScore >= PEOPLE_RULES.faceMesh;
}

/** Whether a photo's classification leaves room for people, so the face stage should look at it (pure). */
export function wantsFaces(cues: PeopleCues): boolean {
  const all = [cues.personCue, cues.groupCue, cues.portraitCue];
  if (all.some((c) => c === null)) return true;
  return Math.max(...(all as number[])) >= FACE_RULES.cue;
}

/** Whether a face-stage result needs the object detector's person bodies to decide people (pure). */
export function wantsBodies(faces: readonly DetectedFace[], cues: PeopleCues): boolean {
  const candidates = faces.filter(faceCanCount);
  // A face in a photo the classifier calls an animal counts only inside a person body.
  if (candidates.length > 0 && cues.animalScore >= PEOPLE_RULES.animal) return true;
  if (candidates.length >= PEOPLE_RULES.group) return false;
  if (candidates.length > 0) return cues.groupCue === null || cues.groupCue >= BODY_RULES.groupCue;
  return cues.personCue === null || cues.personCue >= BODY_RULES.personCue;
}

/**
 * Whether a face-stage result should be looked at again with the photo turned (pure): no face that can count, and a
 * person cue at TURN_RULES (never without an everyday head: turning every faceless photo would triple the stage).
 */
export function wantsTurn(faces: readonly DetectedFace[], cues: PeopleCues): boolean {
  if (faces.some(faceCanCount)) return false;
  return cues.personCue !== null && cues.personCue >= TURN_RULES.personCue;
}

export type PeopleTagId = 'person' | 'group' | 'portrait';

export interface PeopleTag {
  id: PeopleTagId;
  score: number;
}

export interface PeopleEvidence {
  /** The faces judged human, best first. */
  faces: DetectedFace[];
  /** Confident person bodies counted. */
  bodies: DetectedPerson[];
  /** How many people the photo shows (at least). */
  count: number;
  /** Probability-like score that the photo shows a person (0 when none). */
  person: number;
  tags: PeopleTag[];
}

export interface PeopleInput {
  faces: DetectedFace[];
  persons: DetectedPerson[];
  width: number;
  height: number;
  /** The classifier's score for `animal` (0 when unknown). */
  animalScore?: number;
}

/** Whether one detected face is a human face (see the module comment). */
export function isHumanFace(face: DetectedFace, animalScore = 0): boolean {
  if (!faceCanCount(face)) return false;
  if (animalScore >= PEOPLE_RULES.animal && face.personScore <= 0) return false;
  return true;
}

/** The people decision for one photo. */
export function decidePeople(input: PeopleInput): PeopleEvidence {
  const animal = input.animalScore ?? 0;
  const faces = input.faces.filter((f) => isHumanFace(f, animal));
  const bodies = input.persons.filter((p) => p.score >= PEOPLE_RULES.bodyScore && p.area >= PEOPLE_RULES.bodyArea);
  const count = Math.max(faces.length, bodies.length);
  const faceConfidence = faces.reduce((m, f) => Math.max(m, Math.min(1, (f.boxScore + f.meshScore) / 2 + 0.05 * f.personScore)), 0);
  const bodyConfidence = bodies.reduce((m, p) => Math.max(m, Math.min(0.95, 0.5 + p.score / 2)), 0);
  const person = count > 0 ? Math.max(faceConfidence, bodyConfidence) : 0;
  const tags: PeopleTag[] = [];
  if (person > 0) {
    tags.push({ id: 'person', score: round(person) });
    if (count >= PEOPLE_RULES.group) tags.push({ id: 'group', score: round(person) });
    const shorter = Math.min(input.width, input.height);
    const largest = faces.reduce((m, f) => Math.max(m, f.box[2]), 0);
    if (faces.length > 0 && faces.length <= PEOPLE_RULES.portraitFaces && shorter > 0 && largest / shorter >= PEOPLE_RULES.portraitSide) {
      tags.push({ id: 'portrait', score: round(faceConfidence) });
    }
  }
  return { faces, bodies, count, person: round(person), tags };
}

const round = (x: number): number => Math.round(x * 1e4) / 1e4;

/** The classifier's animal score in an analysis (0 when below the stored floor). */
export function animalScoreOf(analysis: Pick<PhotoAnalysis, 'nodeScores'>): number {
  return analysis.nodeScores.find((n) => n.wnid === ANIMAL_WNID)?.score ?? 0;
}

/**
 * Puts detected people into the analysis: `person` and every synset above it get at least the person score
 * (so photos of people fall under person, organism, living thing ... like any classified photo), and the
 * `person` category gets it too. Returns a new analysis; the classifier's labels are left as they were.
 */
export function withPeople(analysis: PhotoAnalysis, evidence: PeopleEvidence, hierarchy: Hierarchy): PhotoAnalysis {
  if (evidence.person <= 0) return analysis;
  const start = hierarchy.node(PERSON_WNID);
  if (start === undefined) return analysis;
  const lifted = new Map<string, number>();
  const stack = [start];
  while (stack.length > 0) {
    const n = stack.pop()!;
    const wnid = hierarchy.wnids[n];
    if (lifted.has(wnid)) continue;
    lifted.set(wnid, evidence.person);
    stack.push(...hierarchy.parents[n]);
  }
  const nodeScores: NodeScore[] = analysis.nodeScores.map((n) => (lifted.has(n.wnid) ? { wnid: n.wnid, score: Math.max(n.score, lifted.get(n.wnid)!) } : n));
  for (const [wnid, score] of lifted) if (!analysis.nodeScores.some((n) => n.wnid === wnid)) nodeScores.push({ wnid, score });
  nodeScores.sort((a, b) => b.score - a.score);
  let categories: CategoryScore[] = analysis.categories;
  const existing = categories.find((c) => c.id === 'person');
  if (existing) categories = categories.map((c) => (c.id === 'person' ? { ...c, score: Math.max(c.score, evidence.person) } : c));
  else categories = [...categories, { id: 'person', name: 'Person', wnid: PERSON_WNID, score: evidence.person }];
  categories = [...categories].sort((a, b) => b.score - a.score);
  return { ...analysis, nodeScores, categories };
}

const PEOPLE_TAG_NAMES: Record<PeopleTagId, string> = { person: 'Person', group: 'Group', portrait: 'Portrait' };

/**
 * A photo's tags with person / group / portrait decided by detection (issue 10: detection beats the everyday
 * head for people: person recall 0.86 with 0.7% false positives): the head's people tags are dropped and the
 * detection's added, best first. Custom tags (OWNER/NAME) are kept as they are.
 */
export function withPeopleTags<T extends PhotoTag>(tags: readonly T[], evidence: Pick<PeopleEvidence, 'tags'>): Array<T | PhotoTag> {
  const isPeople = (id: string): boolean => id === 'person' || id === 'group' || id === 'portrait';
  const named = new Map(tags.filter((t) => isPeople(t.id)).map((t) => [t.id, t.name]));
  const out: Array<T | PhotoTag> = tags.filter((t) => !isPeople(t.id));
  for (const t of evidence.tags) out.push({ id: t.id, name: named.get(t.id) ?? PEOPLE_TAG_NAMES[t.id], score: t.score });
  return out.sort((a, b) => b.score - a.score || a.id.localeCompare(b.id));
}
