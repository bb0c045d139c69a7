// The contract between the recognition pipeline (vision + taxonomy) and the photo library:
// everything the library stores about one photo as judged by one model.

/** One of a model's raw top-k outputs. */
export interface Label {
  wnid: string;
  /** Output index in the model's label set (imagenet-1k: sorted-wnid order). */
  index: number;
  name: string;
  score: number;
}

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

export interface ModelRef {
  id: string;
  sha256: string;
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
}
