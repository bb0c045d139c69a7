// Admission by work, not by request count: image bodies in flight (bytes) and decodes in flight (pixels) draw on
// bounded budgets. A request waits briefly, in arrival order and before its body is read (so waiting costs no
// memory), for room in the budget; past the wait it is refused with 429 + Retry-After. Memory and the latency of
// admitted requests stay bounded whatever the load; the excess is refused, not queued for seconds.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from './errors.js';
import { BodyGarbage, youngCollection } from './body-garbage.js';

/** 429: a budget stayed full for longer than a request may wait. */
export class OverloadedError extends ApiError {
  constructor(
    /** 'bytes' or 'pixels'. */
    readonly budget: string,
    what: string,
    retryAfterSeconds: number,
  ) {
    super(429, 'overloaded', `The server is at its limit of ${what} in flight; retry shortly.`, { 'retry-after': String(retryAfterSeconds) });
  }
}

export interface BudgetStats {
  capacity: number;
  inUse: number;
  waiting: number;
  admitted: number;
  refused: number;
}

interface Waiter {
  amount: number;
  grant: () => void;
  timer: NodeJS.Timeout;
}

/** A budget of work units (bytes, pixels) shared by concurrent requests; first come, first served. */
export class WorkBudget {
  private used = 0;
  private readonly waiting: Waiter[] = [];
  private admitted = 0;
  private refused = 0;

  constructor(
    /** Short name (metrics label): 'bytes', 'pixels'. */
    readonly name: string,
    /** What the units are, for messages: "bytes of image bodies", "decoded pixels". */
    readonly what: string,
    readonly capacity: number,
    readonly maxWaitMs: number,
    readonly retryAfterSeconds: number,
  ) {}

  /**
   * Takes `amount` units (at most the whole budget, so one oversized request runs alone) and resolves to the
   * function that gives them back; waits at most `maxWaitMs` (default the budget's) for room, then rejects
   * with a 429 ApiError.
   */
  acquire(amount: number, maxWaitMs = this.maxWaitMs): Promise<() => void> {
    const take = Math.min(Math.max(0, Math.ceil(amount)), this.capacity);
    if (this.waiting.length === 0 && this.used + take <= this.capacity) {
      this.used += take;
      this.admitted++;
      return Promise.resolve(this.releaser(take));
    }
    if (maxWaitMs <= 0) return Promise.reject(this.refuse());
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        amount: take,
        grant: () => {
          clearTimeout(waiter.timer);
          this.used += take;
          this.admitted++;
          resolve(this.releaser(take));
        },
        timer: setTimeout(() => {
          const i = this.waiting.indexOf(waiter);
          if (i >= 0) this.waiting.splice(i, 1);
          reject(this.refuse());
          this.pump(); // smaller requests behind this one may fit now
        }, maxWaitMs),
      };
      this.waiting.push(waiter);
    });
  }

  get stats(): BudgetStats {
    return { capacity: this.capacity, inUse: this.used, waiting: this.waiting.length, admitted: this.admitted, refused: this.refused };
  }

  private releaser(take: number): () => void {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.used -= take;
      this.pump();
    };
  }

  private pump(): void {
    while (this.waiting.length > 0 && this.used + this.waiting[0]!.amount <= this.capacity) this.waiting.shift()!.grant();
  }

  private refuse(): OverloadedError {
    this.refused++;
    return new OverloadedError(this.name, this.what, this.retryAfterSeconds);
  }
}

export interface AdmissionConfig {
  /** Bytes of image request bodies (raw, multipart) being received or worked on at once. */
  maxBodyBytes: number;
  /** Pixels (width x height, from the header) of the photos being decoded at once. */
  maxDecodePixels: number;
  /** Longest wait for room before a request is refused with 429, ms. */
  maxWaitMs: number;
  /** Longest wait for decoding room of a file whose upload was already admitted and received, ms. */
  maxUploadDecodeWaitMs: number;
  /**
   * Bytes per second read, all together, from the bodies of requests refused with 429 that the client sends
   * anyway (no `Expect: 100-continue`); see RefusedDrain.
   */
  refusedDrainBytesPerSecond: number;
  /**
   * Body bytes received (admitted or refused) between two young-generation collections, which free the read
   * buffers they leave (see body-garbage.ts); 0 leaves collection to V8 alone.
   */
  collectEveryBodyBytes: number;
}

/**
 * The pace at which the bodies of refused requests are read and dropped, shared by all of them. A client that sends
 * its body whatever the answer (no `Expect: 100-continue`) must have it read, or it gets a reset instead of its
 * 429; read at full speed, every refusal of a camera photo costs both sides 6 MB over the same two cores, and 56
 * such clients retrying at once took a third of the classification throughput (bench "overload", blind clients).
 * Paced, the refused clients wait on their own uploads (TCP holds them back) while the admitted requests get the
 * cores: a virtual clock advances by each chunk's share of the rate, and a reader ahead of it pauses until then.
 */
export class RefusedDrain {
  private clock = 0;

  constructor(
    readonly bytesPerSecond: number,
    /** Reading this far ahead of the pace (ms) is let through: small bodies are never held. */
    private readonly burstMs = 250,
  ) {}

  /** Milliseconds the reader of `bytes` more should pause before reading on (0: read on). */
  take(bytes: number, now = performance.now()): number {
    this.clock = Math.max(this.clock, now - this.burstMs) + (bytes / this.bytesPerSecond) * 1000;
    return Math.max(0, this.clock - now);
  }
}

/** The server's two budgets. */
export class Admission {
  readonly bytes: WorkBudget;
  readonly pixels: WorkBudget;
  readonly refusedDrain: RefusedDrain;
  readonly bodyGarbage: BodyGarbage;

  constructor(
    readonly config: AdmissionConfig,
    retryAfterSeconds: number,
  ) {
    this.bytes = new WorkBudget('bytes', 'bytes of image bodies', config.maxBodyBytes, config.maxWaitMs, retryAfterSeconds);
    this.pixels = new WorkBudget('pixels', 'decoded pixels', config.maxDecodePixels, config.maxWaitMs, retryAfterSeconds);
    this.refusedDrain = new RefusedDrain(config.refusedDrainBytesPerSecond);
    this.bodyGarbage = new BodyGarbage(config.collectEveryBodyBytes, config.collectEveryBodyBytes > 0 ? youngCollection() : null);
  }

  /** The decode gate of one photo (vision's `DecodeOptions.admit`). */
  decodeGate(maxWaitMs?: number): (pixels: number) => Promise<() => void> {
    return (pixels) => this.pixels.acquire(pixels, maxWaitMs);
  }
}

/** Requests whose body bytes were reserved before routing (`admitAtContinue`), released with their response. */
const admittedEarly = new WeakSet<IncomingMessage>();

/** The request's declared body size, or `fallback` when it declares none. */
function declaredBytes(req: IncomingMessage, fallback: number): number {
  const declared = Number(req.headers['content-length']);
  return Number.isFinite(declared) && declared >= 0 ? declared : fallback;
}

/**
 * Reserves the body bytes of an `Expect: 100-continue` request before routing (the 'checkContinue' event): the
 * route's `admitBody` then finds it admitted. Rejects with the 429 to answer.
 */
export async function admitAtContinue(admission: Admission, req: IncomingMessage, res: ServerResponse, fallback: number): Promise<void> {
  const release = await admission.bytes.acquire(declaredBytes(req, fallback));
  admittedEarly.add(req);
  holdUntilAnswered(res, release);
}

/** Gives `release` back once the response is sent or its connection is gone (already gone: at once). */
function holdUntilAnswered(res: ServerResponse, release: () => void): void {
  res.once('finish', release);
  res.once('close', release);
  if (res.destroyed || res.socket?.destroyed) release(); // the client left while waiting for room
}

/**
 * Route hook (onRequest, before the body is read): reserves the request's declared body size (`fallback` when
 * it declares none) from the byte budget until the response is sent or the connection drops. A refused request
 * is answered without its body ever being buffered (the server drains and discards it; see hardening.ts).
 */
export function admitBody(admission: Admission, fallback: number) {
  return async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if (admittedEarly.has(req.raw)) return;
    holdUntilAnswered(reply.raw, await admission.bytes.acquire(declaredBytes(req.raw, fallback)));
  };
}
