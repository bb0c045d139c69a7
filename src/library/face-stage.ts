// The face step of ingest and upload: detect faces and persons in the photo's bytes (on the detector's bounded
// queue, alongside classification), then decide people with the classifier's view of the photo and lift the
// person synset into its analysis.
import { animalScoreOf, decidePeople, withPeople } from '../taxonomy/people.js';
import type { Hierarchy } from '../taxonomy/hierarchy.js';
import type { FaceDetection, FaceDetector } from '../vision/faces/detector.js';
import type { PhotoAnalysis } from './analysis.js';
import type { FaceScan } from './people.js';

export interface FaceStage {
  /** Detector name stored with each scan. */
  readonly detector: string;
  detect(bytes: Buffer): Promise<FaceDetection>;
  /** Combines a detection with the photo's analysis: the scan to store and the analysis with people lifted in. */
  apply(analysis: PhotoAnalysis, detection: FaceDetection): { analysis: PhotoAnalysis; scan: FaceScan };
}

export function faceStage(detector: FaceDetector, hierarchy: Hierarchy): FaceStage {
  return {
    detector: detector.name,
    detect: (bytes) => detector.detect(bytes),
    apply(analysis, detection) {
      const evidence = decidePeople({ ...detection, animalScore: animalScoreOf(analysis) });
      return { analysis: withPeople(analysis, evidence, hierarchy), scan: { detector: detector.name, evidence } };
    },
  };
}
