// The face step of ingest and upload: detect faces and persons in the photo's bytes (on the detector's bounded
// queue, alongside classification), then decide people with the classifier's view of the photo and lift the
// person synset into its analysis. The faces stage looks only at photos whose classification leaves room for
// people (taxonomy/people.ts `wantsFaces`), looks again at the photo turned where no face was found yet the cues say
// people (`wantsTurn`: photos stored sideways), and person bodies only where the faces and the classifier's cues
// leave people undecided (`wantsBodies`).
import { loadEverydayHead } from '../concepts/tags.js';
import { animalScoreOf, decidePeople, wantsBodies, wantsFaces, wantsTurn, withPeople, withPeopleTags, type PeopleCues } from '../taxonomy/people.js';
import type { Hierarchy } from '../taxonomy/hierarchy.js';
import type { DetectSource } from '../vision/decode.js';
import type { DetectOptions, FaceDetection, FaceDetector } from '../vision/faces/detector.js';
import type { PhotoAnalysis } from './analysis.js';
import type { FaceScan } from './people.js';

export interface FaceStage {
  /** Detector name stored with each scan. */
  readonly detector: string;
  /**
   * Detects in the photo's bytes; `analysis` (the photo's classification, usually still running) decides whether
   * the faces stage looks at all and whether bodies are looked for. `everyPhoto` looks at every photo.
   */
  detect(bytes: Buffer, analysis: Promise<PhotoAnalysis | undefined>, opts?: { everyPhoto?: boolean; decoded?: Promise<DetectSource | undefined> }): Promise<FaceDetection>;
  /** Combines a detection with the photo's analysis: the scan to store and the analysis with people lifted in. */
  apply(analysis: PhotoAnalysis, detection: FaceDetection): { analysis: PhotoAnalysis; scan: FaceScan };
}

export function faceStage(detector: FaceDetector, hierarchy: Hierarchy): FaceStage {
  return {
    detector: detector.name,
    detect: (bytes, analysis, opts = {}) => {
      const ask = peopleQuestions(analysis);
      return detector.detect(bytes, { wantFaces: opts.everyPhoto ? undefined : ask.wantFaces, wantTurn: ask.wantTurn, wantBodies: ask.wantBodies, decoded: opts.decoded });
    },
    apply(analysis, detection) {
      const evidence = decidePeople({ ...detection, animalScore: animalScoreOf(analysis) });
      const lifted = withPeople(analysis, evidence, hierarchy);
      // person / group / portrait tags come from detection, not the everyday head (issue 10).
      const tags = analysis.tags ? withPeopleTags(analysis.tags, evidence) : undefined;
      // A photo the classification ruled out is stored as scanned by the cues, so `people rescan --all` finds it.
      const by = detection.looked ? detector.name : `${detector.name}/cues`;
      return { analysis: tags ? { ...lifted, tags } : lifted, scan: { detector: by, evidence } };
    },
  };
}

/** The classifier's and the everyday heads' cues about people in one analysis. */
export async function peopleCues(analysis: PhotoAnalysis): Promise<PeopleCues> {
  const head = await loadEverydayHead(analysis.model).catch(() => null);
  // the logistic head alone: the people rules were chosen on its scores (the memory's vote is for tags)
  const scores = head && head.model.sha256 === analysis.model.sha256 ? head.logisticScore(analysis.embedding, analysis.model) : null;
  const cue = (id: string): number | null => {
    const j = head && scores ? head.concepts.findIndex((c) => c.id === id) : -1;
    return j < 0 ? null : scores![j]! / Math.max(1e-6, head!.concepts[j]!.cueThreshold ?? head!.concepts[j]!.threshold);
  };
  return { animalScore: animalScoreOf(analysis), personCue: cue('person'), groupCue: cue('group'), portraitCue: cue('portrait') };
}

/**
 * The detector's questions for a photo whose analysis will arrive (undefined: the photo failed): whether its
 * classification leaves room for people at all (stage zero), whether to look at the photo turned when no face was
 * found upright, and whether the faces found need person bodies (stage two). The cues are worked out once, when
 * first asked for.
 */
export function peopleQuestions(analysis: Promise<PhotoAnalysis | undefined>): Required<Pick<DetectOptions, 'wantFaces' | 'wantTurn' | 'wantBodies'>> {
  let cues: Promise<PeopleCues | undefined> | undefined;
  const cuesOnce = () => (cues ??= analysis.then((a) => (a === undefined ? undefined : peopleCues(a))));
  return {
    wantFaces: async () => {
      const c = await cuesOnce();
      return c !== undefined && wantsFaces(c);
    },
    wantTurn: async (found) => {
      const c = await cuesOnce();
      return c !== undefined && wantsTurn(found.faces, c);
    },
    wantBodies: async (found) => {
      const c = await cuesOnce();
      return c !== undefined && wantsBodies(found.faces, c);
    },
  };
}
