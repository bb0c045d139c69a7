// Micro-batching over an Engine: concurrent single-photo submissions are collected into one batched
// `engine.run` (bounded wait, bounded batch), with a bounded queue that refuses work when full.
import type { Engine, Prediction } from './engine.js';

/** The queue is full; callers should shed load (the HTTP server answers 429). */
export class QueueFullError extends Error {
  override name = 'QueueFullError';
  readonly code = 'queue_full';
  constructor(readonly limit: number) {
    super(`inference queue is full (${limit} waiting); try again shortly`);
  }
}

export interface MicroBatcherOptions {
  /** Largest batch per run (default 16, capped by the model's maxBatch). */
  maxBatch?: number;
  /** How long the first waiting photo may wait for company when the engine is idle (default 3 ms). */
  maxWaitMs?: number;
  /** Most photos waiting (not yet running) before `submit` rejects with QueueFullError (default 256). */
  maxQueue?: number;
  /** Called after every run, for metrics. */
  onBatch?: (size: number, ms: number) => void;
}

export interface BatcherStats {
  /** Photos waiting for a run. */
  queueDepth: number;
  /** Photos in the run now in progress. */
  inFlight: number;
  batches: number;
  images: number;
  rejected: number;
  /** Number of runs by batch size. */
  batchSizes: Record<number, number>;
}

interface Waiting {
  tensor: Float32Array;
  resolve: (p: Prediction) => void;
  reject: (e: unknown) => void;
}

export class MicroBatcher {
  private readonly queue: Waiting[] = [];
  private timer: NodeJS.Timeout | null = null;
  private running = 0;
  private readonly maxBatch: number;
  private readonly maxWaitMs: number;
  private readonly maxQueue: number;
  private readonly counts: BatcherStats = { queueDepth: 0, inFlight: 0, batches: 0, images: 0, rejected: 0, batchSizes: {} };
  private idleWaiters: Array<() => void> = [];

  constructor(
    readonly engine: Engine,
    private readonly opts: MicroBatcherOptions = {},
  ) {
    this.maxBatch = Math.max(1, Math.min(opts.maxBatch ?? 16, engine.model.spec.maxBatch === 1 ? 16 : engine.model.spec.maxBatch));
    this.maxWaitMs = opts.maxWaitMs ?? 3;
    this.maxQueue = opts.maxQueue ?? 256;
  }

  /** Classifies one preprocessed tensor as part of the next batch. */
  submit(tensor: Float32Array): Promise<Prediction> {
    if (this.queue.length >= this.maxQueue) {
      this.counts.rejected++;
      return Promise.reject(new QueueFullError(this.maxQueue));
    }
    return new Promise<Prediction>((resolve, reject) => {
      this.queue.push({ tensor, resolve, reject });
      this.schedule();
    });
  }

  get stats(): BatcherStats {
    return { ...this.counts, queueDepth: this.queue.length, inFlight: this.running, batchSizes: { ...this.counts.batchSizes } };
  }

  /** Resolves once nothing is waiting or running. */
  drain(): Promise<void> {
    if (this.queue.length === 0 && this.running === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private schedule(): void {
    if (this.running > 0 || this.queue.length === 0) return; // the run in progress re-schedules when done
    if (this.queue.length >= this.maxBatch || this.maxWaitMs <= 0) {
      this.flush();
    } else if (!this.timer) {
      this.timer = setTimeout(() => this.flush(), this.maxWaitMs);
    }
  }

  private flush(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.running > 0 || this.queue.length === 0) return;
    const batch = this.queue.splice(0, this.maxBatch);
    this.running = batch.length;
    const started = performance.now();
    this.engine.run(batch.map((w) => w.tensor)).then(
      (preds) => batch.forEach((w, i) => w.resolve(preds[i])),
      (err: unknown) => batch.forEach((w) => w.reject(err)),
    ).finally(() => {
      const ms = performance.now() - started;
      this.running = 0;
      this.counts.batches++;
      this.counts.images += batch.length;
      this.counts.batchSizes[batch.length] = (this.counts.batchSizes[batch.length] ?? 0) + 1;
      this.opts.onBatch?.(batch.length, ms);
      // Photos that arrived during the run have already waited: run them now.
      if (this.queue.length > 0) this.flush();
      else {
        const waiters = this.idleWaiters;
        this.idleWaiters = [];
        waiters.forEach((w) => w());
      }
    });
  }
}
