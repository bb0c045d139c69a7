// What a model says about one photo, in the vision layer's words: the model that said it and its raw labels.
// The taxonomy and library layers build on these types; they never flow the other way.

/** One of a model's raw top-k outputs. */
export interface Label {
  wnid: string;
  /** Output index in the model's label set (imagenet-1k: sorted-wnid order). */
  index: number;
  name: string;
  score: number;
}

/** The model (id and file sha256) that produced a result; every stored result names one. */
export interface ModelRef {
  id: string;
  sha256: string;
}
