// Prometheus metrics of one server instance (its own registry, so several servers can live in one process):
// request counts and latency by route, inference batch sizes, classification queue depth.
import client from 'prom-client';

export interface ServerMetrics {
  registry: client.Registry;
  requests: client.Counter<'method' | 'route' | 'status'>;
  latency: client.Histogram<'method' | 'route' | 'status'>;
  batchSize: client.Histogram<'model'>;
  queueDepth: client.Gauge<'model'>;
  queueRejections: client.Counter<'model'>;
  admissionRejections: client.Counter<'budget'>;
  /** Set by the model runtime so the gauge reads the live depth at scrape time. */
  setQueueDepthSource(source: () => Array<{ model: string; depth: number }>): void;
}

export function createMetrics(): ServerMetrics {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry, prefix: 'pictograph_' });
  let depthSource: () => Array<{ model: string; depth: number }> = () => [];
  const requests = new client.Counter({
    name: 'pictograph_http_requests_total',
    help: 'HTTP requests answered, by method, route pattern and status code.',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  const latency = new client.Histogram({
    name: 'pictograph_http_request_duration_seconds',
    help: 'HTTP request latency from arrival to response, by method, route pattern and status code.',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const batchSize = new client.Histogram({
    name: 'pictograph_inference_batch_size',
    help: 'Images per inference run (micro-batching).',
    labelNames: ['model'] as const,
    buckets: [1, 2, 4, 8, 12, 16, 24, 32, 64],
    registers: [registry],
  });
  const queueDepth = new client.Gauge({
    name: 'pictograph_inference_queue_depth',
    help: 'Images waiting for or in inference.',
    labelNames: ['model'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const { model, depth } of depthSource()) this.set({ model }, depth);
    },
  });
  const queueRejections = new client.Counter({
    name: 'pictograph_inference_queue_rejections_total',
    help: 'Classification requests refused with 429 because the queue was full.',
    labelNames: ['model'] as const,
    registers: [registry],
  });
  const admissionRejections = new client.Counter({
    name: 'pictograph_admission_rejections_total',
    help: 'Requests refused with 429 because image body bytes or decoded pixels in flight were at their limit.',
    labelNames: ['budget'] as const,
    registers: [registry],
  });
  return {
    admissionRejections,
    registry,
    requests,
    latency,
    batchSize,
    queueDepth,
    queueRejections,
    setQueueDepthSource(source) {
      depthSource = source;
    },
  };
}
