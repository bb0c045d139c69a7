// The recognition runtime behind the server: the loaded model(s) with their micro-batchers and the taxonomy
// per accuracy target; loads in the background (readiness) and turns an image into a classification.
import type { FastifyBaseLogger } from 'fastify';
import { Engine } from '../vision/engine.js';
import { MicroBatcher } from '../vision/batcher.js';
import { decodePhoto } from '../vision/decode.js';
import type { Prediction } from '../vision/engine.js';
import { analyzePrediction, hedgedPath, loadTaxonomy, type Taxonomy } from '../taxonomy/analysis.js';
import type { PhotoAnalysis } from '../library/analysis.js';
import { hierarchyView } from '../library/hierarchy-view.js';
import type { PhotoRecognizer, RecognizedPhoto } from '../library/ingest.js';
import { recognizePhoto } from '../library/recognizer.js';
import { analyzeAnimation, animationInfo, type Timeline } from '../library/animation.js';
import type { TaxonomyView } from '../library/taxonomy-view.js';
import type { Admission } from './admission.js';
import type { ServerConfig } from './config.js';
import { loadEverydayHead, photoSubject, tagEmbedding } from '../concepts/tags.js';
import { ApiError, scrubPaths } from './errors.js';
import type { ServerMetrics } from './metrics.js';

/** Where the runtime's model comes from: given (tests) or loaded in the background (serve). */
export interface RuntimeSource {
  engine?: Engine;
  taxonomy?: Taxonomy;
  /** Loads the engine and its taxonomy; used when `engine` is not given. */
  load?: () => Promise<{ engine: Engine; taxonomy: Taxonomy }>;
}

export interface ClassifyOptions {
  top?: number;
  target?: number;
  model?: string;
}

export interface Classification {
  model: { id: string; sha256: string };
  concepts: Array<{ id: string; name: string; value: number }>;
  hedged: PhotoAnalysis['hedged'];
  path: Array<{ wnid: string; name: string }>;
  categories: PhotoAnalysis['categories'];
  /** Everyday concepts at or above their calibrated threshold, best first. */
  tags: Array<{ id: string; name: string; score: number }>;
  /** The photo's consumer category from the everyday subject head (absent without one). */
  subject?: { id: string; score: number };
  /** Animations: the concept timeline (labels above are then the whole animation's). */
  timeline?: Omit<Timeline, 'keyframes'> & { keyframes: Array<{ frame: number; t_ms: number; reason: string; thumbnail: null }> };
}

/** The answer of `POST /v1/classify` for an analysis (Clarifai-style concepts, hedged label and its path). */
export function classificationOf(
  model: { id: string; sha256: string },
  analysis: PhotoAnalysis,
  taxonomy: Pick<Taxonomy, 'hierarchy' | 'policy'>,
  tags: Classification['tags'],
): Classification {
  return {
    model: { id: model.id, sha256: model.sha256 },
    concepts: analysis.labels.map((l) => ({ id: l.wnid, name: l.name, value: l.score })),
    hedged: analysis.hedged,
    path: analysis.hedged ? hedgedPath(taxonomy.hierarchy, analysis.hedged.wnid, taxonomy.policy) : [],
    categories: analysis.categories,
    tags,
  };
}

interface Loaded {
  engine: Engine;
  batcher: MicroBatcher;
  /** Taxonomies by accuracy target (the default one loaded up front). */
  taxonomies: Map<number, Promise<Taxonomy>>;
  ownsEngine: boolean;
}

export class ModelRuntime {
  private loaded: Loaded | null = null;
  private failure: string | null = null;
  private loading: Promise<void> | null = null;
  private taxonomyView: TaxonomyView | undefined;
  private hierarchyLoaded: Taxonomy['hierarchy'] | undefined;

  constructor(
    private readonly source: RuntimeSource,
    private readonly config: ServerConfig,
    private readonly metrics: ServerMetrics,
    private readonly env: NodeJS.ProcessEnv,
    private readonly admission: Admission,
  ) {
    if (source.engine) {
      if (!source.taxonomy) throw new Error('createServer: an engine needs its taxonomy');
      this.install(source.engine, source.taxonomy, false);
    }
    metrics.setQueueDepthSource(() =>
      this.loaded ? [{ model: this.loaded.engine.model.id, depth: this.loaded.batcher.stats.queueDepth + this.loaded.batcher.stats.inFlight }] : [],
    );
  }

  /** Starts background loading when the model was not given. */
  start(log: FastifyBaseLogger): void {
    if (this.loaded || this.loading || !this.source.load) return;
    const t0 = Date.now();
    this.loading = this.source
      .load()
      .then(({ engine, taxonomy }) => {
        this.install(engine, taxonomy, true);
        log.info({ model: engine.model.id, ms: Date.now() - t0 }, 'model loaded; ready');
      })
      .catch((err: unknown) => {
        this.failure = scrubPaths(err instanceof Error ? err.message : String(err));
        log.error({ err }, 'model failed to load');
      });
  }

  /** Resolves once background loading has finished (successfully or not). */
  async whenSettled(): Promise<void> {
    await this.loading;
  }

  private install(engine: Engine, taxonomy: Taxonomy, ownsEngine: boolean): void {
    const metrics = this.metrics;
    const batcher = new MicroBatcher(engine, {
      maxBatch: this.config.batch.maxBatch,
      maxWaitMs: this.config.batch.maxWaitMs,
      maxQueue: this.config.batch.maxQueue,
      onBatch: (size) => metrics.batchSize.observe({ model: engine.model.id }, size),
    });
    const target = taxonomy.calibration?.target ?? this.config.defaultTarget;
    this.loaded = { engine, batcher, taxonomies: new Map([[target, Promise.resolve(taxonomy)]]), ownsEngine };
    this.taxonomyView = hierarchyView(taxonomy.hierarchy);
    this.hierarchyLoaded = taxonomy.hierarchy;
  }

  /** The library's view of the hierarchy (names, parents, word lookup); undefined while loading. */
  /** The default taxonomy's hierarchy once loaded (face detection lifts `person` in it). */
  hierarchy(): Taxonomy['hierarchy'] | undefined {
    return this.loaded ? this.hierarchyLoaded : undefined;
  }

  view(): TaxonomyView | undefined {
    return this.taxonomyView;
  }

  /** The recognizer the library's ingest uses for uploads: one decode (tensor + thumbnails), micro-batched. */
  recognizer(target?: number): PhotoRecognizer {
    const { engine, batcher } = this.current();
    return {
      model: { id: engine.model.id, sha256: engine.model.sha256 },
      recognize: async (bytes: Buffer, o: { forFaces?: boolean } = {}): Promise<RecognizedPhoto> =>
        recognizePhoto(bytes, engine, batcher, (prediction) => this.analyze(prediction, { target }), {
          keepForDetection: o.forFaces,
          maxBytes: this.config.maxImageBytes,
          maxPixels: this.config.maxImagePixels,
          // An upload is already received: its files may wait longer for decoding room than a classification.
          admit: this.admission.decodeGate(this.config.admission.maxUploadDecodeWaitMs),
          // animations are analysed whole (keyframes, timeline) with the same taxonomy
          analyzeOptions: { ...(await this.taxonomy(target)), top: 5 },
        }),
    };
  }

  ready(): boolean {
    return this.loaded !== null;
  }

  loadFailure(): string | null {
    return this.failure;
  }

  modelIds(): string[] {
    return this.loaded ? [this.loaded.engine.model.id] : [];
  }

  defaultModelId(): string | null {
    return this.loaded?.engine.model.id ?? null;
  }

  /** The loaded engine and default taxonomy, or 503 while loading. */
  current(): Loaded {
    if (!this.loaded) {
      throw new ApiError(503, 'not_ready', this.failure ? `The model failed to load: ${this.failure}` : 'The model is still loading; retry shortly.', {
        'retry-after': '5',
      });
    }
    return this.loaded;
  }

  /** The taxonomy (hierarchy, calibration, policy) for an accuracy target; loaded once per target. */
  async taxonomy(target?: number): Promise<Taxonomy> {
    const loaded = this.current();
    const t = target ?? this.defaultTarget();
    let p = loaded.taxonomies.get(t);
    if (!p) {
      p = loadTaxonomy({ modelId: loaded.engine.model.id, target: t, env: this.env });
      loaded.taxonomies.set(t, p);
      p.catch(() => loaded.taxonomies.delete(t));
    }
    const taxonomy = await p;
    if (!taxonomy.calibration && target !== undefined && t !== this.defaultTarget()) {
      throw new ApiError(
        400,
        'uncalibrated_target',
        `There is no calibration of ${loaded.engine.model.id} for target ${t}; ` +
          `run \`pictograph calibrate --target ${t}\` on the server, or leave \`target\` out (default ${this.defaultTarget()}).`,
      );
    }
    return taxonomy;
  }

  defaultTarget(): number {
    if (!this.loaded) return this.config.defaultTarget;
    return [...this.loaded.taxonomies.keys()][0] ?? this.config.defaultTarget;
  }

  /** Checks a requested model id against the loaded one. */
  private checkModel(model?: string): void {
    const loaded = this.current();
    if (model !== undefined && model !== '' && model !== loaded.engine.model.id) {
      throw new ApiError(404, 'unknown_model', `Model ${model} is not loaded here; this server runs ${loaded.engine.model.id}.`);
    }
  }

  /** Decodes an image and runs it through the micro-batcher. */
  async predict(image: Buffer | string, model?: string): Promise<Prediction> {
    this.checkModel(model);
    const { engine, batcher } = this.current();
    const decoded = await decodePhoto(image, engine.model.spec, { maxBytes: this.config.maxImageBytes, maxPixels: this.config.maxImagePixels, admit: this.admission.decodeGate() });
    return batcher.submit(decoded.tensor);
  }

  /** A prediction as the library stores it (labels, hedged, node scores, categories, embedding). */
  async analyze(prediction: Prediction, opts: { top?: number; target?: number } = {}): Promise<PhotoAnalysis> {
    const taxonomy = await this.taxonomy(opts.target);
    const analysis = analyzePrediction(prediction, { ...taxonomy, top: opts.top ?? 5 });
    return { ...analysis, tags: await this.tags(prediction) };
  }

  /** The prediction's everyday tags (none when no head was trained for the loaded model). */
  async tags(prediction: Prediction): Promise<Array<{ id: string; name: string; score: number }>> {
    const everyday = await loadEverydayHead(prediction.model);
    return tagEmbedding(everyday ? [everyday] : [], prediction.embedding, prediction.model).map(({ id, name, score }) => ({ id, name, score }));
  }

  async classify(image: Buffer | string, opts: ClassifyOptions = {}): Promise<Classification> {
    const prediction = await this.predict(image, opts.model);
    const taxonomy = await this.taxonomy(opts.target);
    if (await animationInfo(image)) {
      const { engine, batcher } = this.current();
      const a = await analyzeAnimation(image, {
        spec: engine.model.spec.input,
        run: (tensors) => Promise.all(tensors.map((t) => batcher.submit(t))),
        analyze: { ...taxonomy, top: opts.top ?? 5 },
        limits: { maxBytes: this.config.maxImageBytes },
      });
      const analysis = a.analysis;
      return {
        ...classificationOf(prediction.model, analysis, taxonomy, await this.tags({ ...prediction, probs: a.probs, embedding: analysis.embedding })),
        timeline: { ...a.timeline, keyframes: a.timeline.keyframes.map((k) => ({ frame: k.frame, t_ms: k.t_ms, reason: k.reason, thumbnail: null })) },
      };
    }
    const analysis = analyzePrediction(prediction, { ...taxonomy, top: opts.top ?? 5 });
    const subject = photoSubject(await loadEverydayHead(prediction.model), prediction.embedding, prediction.model);
    return { ...classificationOf(prediction.model, analysis, taxonomy, await this.tags(prediction)), ...(subject ? { subject } : {}) };
  }

  /** Stops the batcher and closes an engine this runtime loaded itself (a given engine stays open). */
  async close(): Promise<void> {
    await this.loading;
    const loaded = this.loaded;
    this.loaded = null;
    if (!loaded) return;
    await loaded.batcher.drain();
    if (loaded.ownsEngine) await loaded.engine.close();
  }
}
