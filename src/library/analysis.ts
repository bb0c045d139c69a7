// The recognition results the library stores, as the library's modules import them. The types are defined in the
// lowest layer that uses them (vision/prediction, taxonomy/photo-analysis) so imports point one way.
export type { Label, ModelRef } from '../vision/prediction.js';
export type { CategoryScore, HedgedLabel, NodeScore, PhotoAnalysis, PhotoTag } from '../taxonomy/photo-analysis.js';
