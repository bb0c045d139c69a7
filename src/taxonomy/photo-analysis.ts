// The result of judging one photo through the WordNet hierarchy: node scores, the hedged label and consumer
// categories, plus the model's raw labels and embedding. It is the contract between recognition (vision +
// taxonomy) and the photo library, which stores it as given.
import type { Label, ModelRef } from '../vision/prediction.js';
import type { Timeline } from './timeline.js';

export type { Label, ModelRef } from '../vision/prediction.js';

/** The hedged label: the most specific synset meeting the calibrated accuracy target. */
export interface HedgedLabel {
  wnid: string;
  name: string;
  score: number;
  /** The accuracy target (1 - epsilon) the label was chosen for. */
  target: number;
}

/** A consumer category ("dog", "food") with its lifted score. */
export interface CategoryScore {
  /** Stable id from the categories data file, e.g. "dog". */
  id: string;
  name: string;
  wnid: string;
  score: number;
}

/** One synset's score lifted from the leaf probabilities (the `sum` rule unless stated). */
export interface NodeScore {
  wnid: string;
  score: number;
}

/** Everything one model said about one photo, ready to store. */
export interface PhotoAnalysis {
  model: ModelRef;
  /** Top-k raw labels, best first. */
  labels: Label[];
  hedged: HedgedLabel | null;
  /** Synset scores, sparse: only nodes at or above a small floor (e.g. 0.01), best first. */
  nodeScores: NodeScore[];
  categories: CategoryScore[];
  /** Unit-length image embedding for similarity search. */
  embedding: Float32Array;
  /** Concepts at or above their calibrated threshold, best first (absent when no head was loaded). */
  tags?: PhotoTag[];
  /** Animations only: keyframes and scenes; the fields above then describe the whole animation. */
  timeline?: Timeline | null;
}

/** A concept scored by a head on the embedding (everyday: "beach"; custom: "OWNER/NAME"). */
export interface PhotoTag {
  id: string;
  name: string;
  score: number;
}
