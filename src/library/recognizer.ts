// The real recognition pipeline behind ingest: vision decode (one decode -> tensor + thumbnails), micro-batched
// inference, and the taxonomy's analysis (labels, hedged label, node scores, categories).
import { loadTaxonomy, type Taxonomy } from '../taxonomy/load.js';
import { analyzePrediction, type AnalyzeOptions } from '../taxonomy/analysis.js';
import { MicroBatcher } from '../vision/batcher.js';
import { decodePhoto, type DecodedPhoto, type DecodeOptions } from '../vision/decode.js';
import { Engine, type Prediction } from '../vision/engine.js';
import type { PhotoAnalysis } from './analysis.js';
import { analyzeAnimation, animationInfo } from './animation.js';
import { hierarchyView } from './hierarchy-view.js';
import { THUMBNAIL_SIZES, type PhotoRecognizer, type RecognizedPhoto } from './ingest.js';
import type { TaxonomyView } from './taxonomy-view.js';
import type { Head } from '../concepts/head.js';
import { loadEverydayHead, tagEmbedding } from '../concepts/tags.js';

export interface LoadedRecognizer extends PhotoRecognizer {
  engine: Engine;
  taxonomy: Taxonomy;
  view: TaxonomyView;
  batcher: MicroBatcher;
  close(): Promise<void>;
}

const MAY_ANIMATE: ReadonlySet<string> = new Set(['gif', 'webp', 'png']);

/**
 * One photo through the pipeline: a single decode feeds the model tensor and the thumbnails, the tensor joins a
 * micro-batch, and `analyze` turns the prediction into what the library stores. Shared by ingest and the server.
 */
export async function recognizePhoto(
  bytes: Buffer,
  engine: Engine,
  batcher: MicroBatcher,
  analyze: (prediction: Prediction) => PhotoAnalysis | Promise<PhotoAnalysis>,
  opts: Pick<DecodeOptions, 'maxBytes' | 'maxPixels' | 'admit' | 'keepForDetection'> & { analyzeOptions?: AnalyzeOptions } = {},
): Promise<RecognizedPhoto> {
  // A photo no larger than the large thumbnail gets none: the server shows the original in its place.
  const { analyzeOptions, ...decodeOptions } = opts;
  const decoded = await decodePhoto(bytes, engine.model.spec, { thumbnails: [...THUMBNAIL_SIZES], omitUnreduced: true, ...decodeOptions });
  // Only GIF, WebP and PNG can be animated: other formats skip a second header read (sharp metadata: main-thread
  // time that ingest is short of).
  if (analyzeOptions && MAY_ANIMATE.has(decoded.format) && (await animationInfo(bytes))) {
    // An animation: the photo thumbnails show its first frame; the analysis is the whole animation's, with
    // its timeline; keyframes go through the same micro-batcher as photos.
    const a = await analyzeAnimation(bytes, {
      spec: engine.model.spec.input,
      run: (tensors) => Promise.all(tensors.map((t) => batcher.submit(t))),
      analyze: analyzeOptions,
      limits: { maxBytes: opts.maxBytes },
      keyframeThumbnails: true,
    });
    return { ...recognizedFrom(decoded, { ...a.analysis, timeline: a.timeline }), keyframeThumbnails: a.keyframeThumbnails };
  }
  const analysis = await analyze(await batcher.submit(decoded.tensor));
  return recognizedFrom(decoded, analysis);
}

/** A decoded photo and its analysis as ingest stores them (facts, thumbnails, analysis). */
export function recognizedFrom(decoded: DecodedPhoto, analysis: PhotoAnalysis): RecognizedPhoto {
  return {
    width: decoded.width,
    height: decoded.height,
    format: decoded.format,
    orientation: decoded.orientation,
    exif: decoded.exif !== undefined,
    thumbnails: (decoded.thumbnails ?? []).map((t) => ({ size: t.size, format: t.format, data: t.data })),
    analysis,
    detectImage: decoded.detectImage,
  };
}

/** Builds a recognizer over an already loaded engine and taxonomy. */
export function recognizerFor(engine: Engine, taxonomy: Taxonomy, opts: { top?: number; heads?: readonly Head[] } = {}): LoadedRecognizer {
  const heads = opts.heads ?? [];
  const batcher = new MicroBatcher(engine, { maxQueue: 100_000 });
  const model = { id: engine.model.id, sha256: engine.model.sha256 };
  return {
    model,
    engine,
    taxonomy,
    view: hierarchyView(taxonomy.hierarchy),
    batcher,
    recognize: (bytes: Buffer, o: { forFaces?: boolean; onDecoded?: () => void } = {}): Promise<RecognizedPhoto> =>
      recognizePhoto(
        bytes,
        engine,
        batcher,
        (prediction) => ({
          ...analyzePrediction(prediction, { ...taxonomy, top: opts.top ?? 5, model }),
          tags: tagEmbedding(heads, prediction.embedding, prediction.model).map(({ id, name, score }) => ({ id, name, score })),
        }),
        {
          analyzeOptions: { ...taxonomy, top: opts.top ?? 5, model },
          keepForDetection: o.forFaces,
          // decodePhoto calls what `admit` resolves to once the pixels are decoded (or the decode failed)
          admit: o.onDecoded ? async () => o.onDecoded! : undefined,
        },
      ),
    async close() {
      await batcher.drain();
      await engine.close();
    },
  };
}

/** Loads the model (cache / mirror / download) and its taxonomy, ready for ingest. */
export async function loadRecognizer(opts: { modelId?: string; env?: NodeJS.ProcessEnv; target?: number } = {}): Promise<LoadedRecognizer> {
  const engine = await Engine.load({ modelId: opts.modelId, env: opts.env });
  try {
    const taxonomy = await loadTaxonomy({ modelId: engine.model.id, target: opts.target, env: opts.env });
    const everyday = await loadEverydayHead(engine.model);
    return recognizerFor(engine, taxonomy, { heads: everyday ? [everyday] : [] });
  } catch (err) {
    await engine.close();
    throw err;
  }
}
