// Collecting the garbage that received request bodies leave. Node's HTTP parser copies every socket read (up to
// 64 KB) into a fresh buffer outside V8's heap, held by a small object inside it; the buffer is freed only when V8
// collects that object. V8 collects when its own young generation fills, or once memory outside its heap grew by
// 64 MB, so a server receiving camera photos (or reading refused ones at their slow pace, with little else to do)
// held up to ~120 MB of dead read buffers: the peaks of bench "overload". A young-generation collection after
// every few MB received frees them while they are still young (a scavenge of the 4 MB young generation the
// `pictograph` executable runs with: ~0.1-0.5 ms).
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** One young-generation collection. */
export type Collect = () => void;

type GcFunction = (options?: { type?: 'major' | 'minor'; execution?: 'sync' | 'async' }) => void;

/** V8's `gc`, looked up once (each lookup without `--expose-gc` makes a context); null where unavailable. */
let gcFunction: GcFunction | null | undefined;

function reachGc(): GcFunction | null {
  const exposed = (globalThis as { gc?: GcFunction }).gc;
  if (typeof exposed === 'function') return exposed;
  try {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as GcFunction | undefined;
    return typeof gc === 'function' ? gc : null;
  } catch {
    return null;
  } finally {
    setFlagsFromString('--no-expose-gc');
  }
}

/**
 * V8's young-generation collection: the global `gc` when Node runs with `--expose-gc`, else V8's `gc` reached
 * through a fresh context (the flag, set at run time, exposes it to new contexts only, and is unset again at
 * once). Null where neither is available.
 */
export function youngCollection(): Collect | null {
  if (gcFunction === undefined) gcFunction = reachGc();
  const gc = gcFunction;
  return gc ? () => gc({ type: 'minor' }) : null;
}

/** Counts received body bytes and collects the young generation after every `everyBytes` of them. */
export class BodyGarbage {
  private since = 0;
  /** Collections run so far (tests). */
  collections = 0;

  constructor(
    /** Bytes received between two collections; 0 never collects. */
    readonly everyBytes: number,
    private readonly collect: Collect | null,
  ) {}

  /** `bytes` more of some request body were received (and will be garbage once handled). */
  received(bytes: number): void {
    if (this.everyBytes <= 0 || this.collect === null) return;
    this.since += bytes;
    if (this.since < this.everyBytes) return;
    this.since = 0;
    this.collections++;
    this.collect();
  }
}
